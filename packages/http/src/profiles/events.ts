import { resolve } from 'node:path'
import { errorResponse } from '../internal/responses.js'
import { ChunkedUploadStore } from './events/chunked-uploads.js'
import { allowedTypes, DEFAULT_ALLOWED_FILE_TYPES } from './events/file-types.js'
import { eventRoutes } from './events/routes.js'
import type { Profile } from './profile.js'

/**
 * Seed 002, event photo sharing: `/v1/events/{id}/photos` (batch upload, list), chunked uploads
 * (`/v1/events/{id}/uploads`, `/v1/uploads/{id}/chunks/{i}`, `/v1/uploads/{id}/complete`) and
 * `/v1/photos/...` (get, hide, hard delete, bulk delete, repair dimensions). An event is a
 * Darkroom album; ids are Darkroom's UUID strings. Errors answer Darkroom's own JSON shape,
 * `{ "error": { "code", "message", "violations"? } }`. See docs/profiles/events.md.
 */

export interface EventsProfileOptions {
  /** `general_allowed_file_types`: the extensions welcome (default jpg, jpeg, png, gif, webp). */
  allowedFileTypes?: readonly string[]
  /** Bytes of every chunk of a chunked upload but the last: 64 KiB to 64 MiB, default 8 MiB. */
  chunkSizeBytes?: number
  /** An unfinished chunked upload is removed this long after it began; default 24 h. */
  uploadExpiryMs?: number
}

const MIN_CHUNK_BYTES = 64 * 1024
const MAX_CHUNK_BYTES = 64 * 1024 * 1024

/**
 * The events profile with its own settings. Throws a `TypeError` naming a setting out of range
 * (or, when mounted, an unknown file type).
 *
 * @example
 * createDarkroomHandler({ ..., profiles: [createEventsProfile({ allowedFileTypes: ['jpg', 'png'] })] })
 */
export function createEventsProfile(options: EventsProfileOptions = {}): Profile {
  const chunkSizeBytes = options.chunkSizeBytes ?? 8 * 1024 * 1024
  const expiryMs = options.uploadExpiryMs ?? 24 * 3_600_000
  assertWhole('chunkSizeBytes', chunkSizeBytes, MIN_CHUNK_BYTES, MAX_CHUNK_BYTES)
  assertWhole('uploadExpiryMs', expiryMs, 1, Number.MAX_SAFE_INTEGER)
  return {
    name: 'events',
    title: 'Event photo sharing: /v1/events/{id}/photos, chunked uploads, /v1/photos/...',
    routes: (deps) =>
      eventRoutes(deps, {
        allowed: allowedTypes(
          options.allowedFileTypes ?? DEFAULT_ALLOWED_FILE_TYPES,
          deps.darkroom.config,
        ),
        uploads: new ChunkedUploadStore({
          directory: resolve(deps.dataDir, 'event-uploads'),
          chunkSizeBytes,
          expiryMs,
          clock: deps.clock,
          logger: deps.logger,
        }),
      }),
    // The one error mapper: Darkroom's own shape and statuses (CAP_EXCEEDED is the seed's 400).
    errorResponse: (error, deps) => errorResponse(error, deps.logger),
  }
}

/** The events profile with the seed's defaults (`profiles: ['events']`, `PROFILES=events`). */
export const eventsProfile: Profile = createEventsProfile()

function assertWhole(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new TypeError(`events profile: ${name} must be a whole number from ${min} to ${max}`)
  }
}
