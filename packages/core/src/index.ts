// The engine and its one config object.
export { createDarkroom, parseConfig } from './darkroom.js'
export type { Darkroom, DarkroomOptions, DarkroomStats } from './darkroom.js'
export * from './config.js'
export * from './errors.js'

// What the engine hands out: photos, albums, callers, events (types only).
export type * from './domain/types.js'
export type { Media } from './internal/media.js'
export type { EventListener } from './services/events.js'

// The ports an app plugs its storage into, with their default clock, ids and logger.
// Helpers for writing an adapter of your own: `@darkroom/core/adapter-kit`.
export * from './ports/index.js'

// Inputs and results of the operations.
export type * from './services/photos/upload.js'
export type { PrecheckInput } from './services/photos/precheck.js'
export type { ListPhotosInput, PhotoList } from './services/photos/list.js'
export type { UpdatePhotoInput } from './services/photos/update.js'
export type { MovePhotoInput } from './services/photos/move.js'
export type { ReorderPhotoInput } from './services/photos/reorder.js'
export type { DeletePhotoInput, DeleteResult, BulkDeleteResult } from './services/photos/delete.js'
export type { RepairDimensionsInput, RepairResult } from './services/photos/repair-dimensions.js'
export type { ReactInput } from './services/photos/react.js'
export type { OpenBlobInput, OpenedBlob } from './services/photos/open-blob.js'
export type {
  ArchiveEntry,
  ArchiveListing,
  ListArchiveInput,
} from './services/photos/list-archive.js'
export type {
  TransformInput,
  TransformPlan,
  TransformResult,
  TransformFormat,
} from './services/photos/transform.js'
export type {
  CreateAlbumInput,
  DeleteAlbumResult,
  UpdateAlbumInput,
} from './services/albums/albums.js'
export type { OwnerInfo } from './services/owners.js'
export type { SweepResult } from './services/maintenance/maintenance.js'
export type { HealthReport, HealthState } from './services/health.js'

// Fixed limits and choices of the operations.
export { PHOTO_SORTS, MAX_PAGE_SIZE } from './services/photos/list.js'
export { MAX_GET_MANY } from './services/photos/get.js'
export { MAX_BULK_DELETE } from './services/photos/delete.js'
export {
  TRANSFORM_FORMATS,
  MAX_TRANSFORM_EDGE,
  MAX_AVIF_EDGE,
} from './services/photos/transform.js'

// Handing files and callers to the engine.
export { localFile, isLocalFile, formatBytes } from './internal/bytes.js'
export type { FileData, LocalFile } from './internal/bytes.js'
export { sanitizeFilename } from './domain/photo.js'
// The type check ingest makes, from a file's first bytes (never its name), for edges that narrow it.
export { sniffMimeType, SNIFF_BYTES } from './media/sniff-mime-type.js'
export type { SniffedType } from './media/sniff-mime-type.js'
export {
  hasScope,
  isAdmin,
  isPhotoReceipt,
  photoAnswerFor,
  requireScope,
} from './internal/access.js'
