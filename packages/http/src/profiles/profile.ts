import type { Caller, Clock, Darkroom, ServerStore } from '@darkroom/core'
import type { Authenticate } from '@darkroom/trpc'
import type { ReceivedForm } from '../api/multipart.js'
import type { Method } from '../api/route-table.js'
import type { Logger } from '../logger.js'

/**
 * A profile serves one public photo API verbatim (its paths, field names, envelopes, status
 * codes and error bodies) on Darkroom's services. It never changes core: it translates a request
 * into a service call and the result into the API's shape.
 */
export interface Profile {
  /** The name that switches it on (`profiles: ['events']`, `PROFILES=events`). */
  name: string
  /** One line for docs and logs. */
  title: string
  routes(deps: ProfileDeps): ProfileRoute[]
  /** Any error a route throws (a `DarkroomError`, an `HttpProblem`, anything) in the API's own error shape. */
  errorResponse(error: unknown, deps: ProfileDeps): Response
}

export interface ProfileRoute {
  method: Method | readonly Method[]
  /** Under the profile's base path: `/api/v1/photos/:guid`. */
  path: string
  handle(request: ProfileRequest): Promise<Response>
}

export interface ProfileRequest {
  request: Request
  url: URL
  /** The `:name` segments of the path, decoded. */
  params: Record<string, string>
  /** The caller, from the handler's authentication (API keys, then the app's hook); cached. */
  caller(): Promise<Caller | null>
  /** As `caller`, but `UNAUTHORIZED` when there is none. */
  requireCaller(): Promise<Caller>
}

export interface ProfileDeps {
  darkroom: Darkroom
  serverStore: ServerStore
  authenticate: Authenticate
  /** The caller of anonymous uploads when the handler has guest uploads on; null otherwise. */
  guestCaller: Caller | null
  /**
   * A multipart upload body for `caller`: first a token of the handler's upload rate limit (the
   * one tRPC and REST uploads take; `RATE_LIMITED` before a byte is read), then each file
   * spooled to a temporary file as it arrives, with the engine's limits (`maxFileBytes` per
   * file: a larger file is marked `truncated`, its size counted; `maxFilesPerBatch`). Dispose the
   * form when done.
   */
  receiveForm(
    request: Request,
    options: { fileFields: readonly string[]; caller: Caller },
  ): Promise<ReceivedForm>
  /**
   * A token of the upload rate limit for a photo added without a form (a copy, a chunked
   * upload's creation), or `RATE_LIMITED`.
   */
  limitUpload(request: Request, caller: Caller): Promise<void>
  /** A JSON body (any Content-Type), at most 1 MiB; undefined when empty. */
  readJson(request: Request): Promise<unknown>
  /** The handler's public base path ('' or `/media`) and the profile's own (`/social`). */
  basePath: string
  profileBase: string
  /** The handler's folder for its own files (chunked uploads keep theirs under it). */
  dataDir: string
  clock: Clock
  logger: Logger
}
