export { createDarkroomHandler } from './handler.js'
export type { DarkroomHandler, DarkroomHandlerOptions } from './handler.js'
export type { NodeHandler } from './node-adapter.js'
export { clientAddressFor } from './client-address.js'
export type { TrustProxy } from './client-address.js'
export type { CorsOptions } from './cors.js'
export type { Logger } from './logger.js'
export { PHOTO_ID_HEADER, UPLOAD_STATE_HEADER } from './files.js'
export type { UploadStore } from './files.js'
export {
  signUrl,
  signSrcset,
  canonicalQuery,
  snapEdge,
  DEFAULT_PUBLIC_SIZES,
  DEFAULT_SIGNED_WIDTHS,
} from './signed-urls.js'
export type { ImageParams, SignedSrcset } from './signed-urls.js'
export { STATUS_BY_CODE, HttpProblem, toHttpError } from './errors.js'
export type { ErrorBody, HttpError } from './errors.js'
export { GUEST_CALLER } from './auth.js'
export { PROFILES, PROFILE_NAMES } from './profiles/index.js'
export type {
  Profile,
  ProfileDeps,
  ProfileName,
  ProfileRequest,
  ProfileRoute,
} from './profiles/index.js'
export type { ProfileMount } from './profiles/mount.js'
export { createEventsProfile } from './profiles/events.js'
export type { EventsProfileOptions } from './profiles/events.js'
export { createGroupsProfile } from './profiles/groups.js'
export type { GroupsProfileOptions } from './profiles/groups.js'
export { createImagehostProfile } from './profiles/imagehost.js'
export type { ImagehostOptions } from './profiles/imagehost.js'
export type { ReceivedFile, ReceivedForm } from './api/multipart.js'
export { readJson, parseInput } from './api/json-body.js'
export { REST_PREFIX, REST_OPERATIONS } from './rest/operations.js'
export type { RestOperation } from './rest/operations.js'
export { buildOpenApiDocument } from './rest/openapi.js'
export type { OpenApiDocument, OpenApiOptions } from './rest/openapi.js'
