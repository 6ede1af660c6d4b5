import {
  hasScope,
  maxUploadBytes,
  systemClock,
  type Clock,
  type Darkroom,
  type ServerStore,
} from '@darkroom/core'
import { MemoryLocker, Server as TusServer } from '@tus/server'
import type { Locker } from '@tus/utils'
import type { Authenticate } from './auth.js'
import { HttpProblem, toTusError } from './errors.js'
import type { Logger } from './logger.js'
import type { UploadRateLimiter } from './rate-limit.js'
import { admit, admitNewUpload, uploadIdOf } from './tus/admission.js'
import { newUploadId } from './tus/concatenation.js'
import { DarkroomDataStore } from './tus/darkroom-data-store.js'
import type { TusDeps } from './tus/deps.js'
import { DurableFileStore } from './tus/durable-file-store.js'
import { sweepExpired } from './tus/expiry-sweep.js'
import { isHttps } from './session.js'
import { ticketCookie } from './tus/guest-ticket.js'
import { recoverAll } from './tus/recovery.js'
import { UploadIngest, removeQuietly } from './tus/ingest.js'
import { RequestLocks, type UploadRequest } from './tus/request-locks.js'
import { PHOTO_ID_HEADER, UPLOAD_STATE_HEADER, errorResponse } from './tus/responses.js'
import { withoutFilename } from './tus/upload-metadata.js'
import { UploadRecords } from '@darkroom/trpc'
import type { UploadStore } from './tus/upload-store.js'

export { PHOTO_ID_HEADER, UPLOAD_STATE_HEADER } from './tus/responses.js'
export type { UploadStore } from './tus/upload-store.js'

/**
 * tus 1.0 at `/files` through `@tus/server`, Fetch-native (`Request` in, `Response` out), with
 * what it leaves out done in tus/:
 *
 * - access.ts: auth like tRPC (guest uploads when enabled), `photos.write` for all but HEAD, a
 *   rate limit on POST. admission.ts: an upload belongs to its creator (anyone else gets 404;
 *   a guest's, to the guest whose cookie made it: guest-ticket.ts);
 *   a new one is refused before bytes flow (metadata parsed strictly, `precheck`); a settled
 *   one is answered from its record. `UploadRecords` (`@darkroom/trpc`, beside `uploads.status`): the states.
 * - darkroom-data-store.ts: the one DataStore tus sees, Darkroom's rules on the folder store
 *   (durable-file-store.ts) or the S3 one (s3-upload-store.ts): the first bytes are sniffed
 *   before they are written (422), and the write that completes an upload ingests it
 *   (ingest.ts) before the lock is released. The last PATCH answers `Darkroom-Photo-Id`, or the
 *   mapped 4xx with the violation as JSON; a failed upload is removed and answers 410.
 * - checksum.ts, concatenation.ts: extensions `@tus/server` v2 only advertises (folder only).
 * - request-locks.ts: every method of an upload, HEAD included, runs under the locker's lock
 *   (`MemoryLocker`: one process; `PgLocker` shared by every process on one Postgres), and
 *   per-request state travels with the `Request`, not an async context.
 * - recovery.ts (on HEAD, an upload completed but not ingested before a crash), expiry-sweep.ts
 *   (`cleanupExpired`, which the server runs on a timer).
 */

export interface FilesHandlerOptions {
  darkroom: Darkroom
  serverStore: ServerStore
  authenticate: Authenticate
  /** Where upload files and their info files live (DATA_DIR/uploads). */
  directory: string
  /** The mount path, default `/files`. */
  path?: string
  /** Unfinished uploads older than this are removed by `cleanupExpired`. */
  expiryMs: number
  /** Unfinished uploads one owner may hold (count, and declared bytes in all). */
  unfinished: { count: number; bytes: number }
  guestUploads: boolean
  /**
   * Behind a trusted proxy its `X-Forwarded-Proto: https` counts as https: the guest cookie then
   * gets `Secure` (see the handler's `trustProxy`).
   */
  trustProxy?: boolean
  /** Counts each POST (a new upload) against the caller's bucket; see rate-limit.ts. */
  uploadLimiter?: UploadRateLimiter
  /** The client's address, for the guests' per-address rate limit. */
  ipOf?: (request: Request) => string | undefined
  logger: Logger
  clock?: Clock
  locker?: Locker
  /**
   * Another store than the folder at `directory`: with S3 blob storage, an `S3UploadStore`
   * (`@darkroom/http/s3`). Checksums and concatenation are folder-only: with S3 they are
   * neither advertised nor accepted.
   */
  uploadStore?: UploadStore
}

export interface FilesHandler {
  handle(request: Request): Promise<Response>
  /** Removes uploads past their expiry (each under its lock); returns how many. */
  cleanupExpired(): Promise<number>
  /** Ingests every complete upload a stop left unfinished, as its owner; returns how many. */
  recoverInterrupted(): Promise<number>
}

export function createFilesHandler(options: FilesHandlerOptions): FilesHandler {
  const { darkroom, logger } = options
  const path = options.path ?? '/files'
  const clock = options.clock ?? systemClock
  const store = options.uploadStore ?? new DurableFileStore({ directory: options.directory })
  const records = new UploadRecords(options.serverStore, clock)
  const locks = new RequestLocks(options.locker ?? new MemoryLocker())
  const ingest = new UploadIngest({ darkroom, records, store, logger })
  const unfinished = options.unfinished
  const deps: TusDeps = { darkroom, records, store, ingest, locks, logger, path, unfinished }
  const { expiryMs } = options
  const trustProxy = options.trustProxy ?? false
  const datastore = new DarkroomDataStore(store, { ...deps, expiryMs })

  const maxSize = maxUploadBytes(darkroom.config)
  const tus = new TusServer({
    path,
    datastore,
    // Advertised as Tus-Max-Size on OPTIONS only. The limit itself is Darkroom's: precheck
    // refuses a larger Upload-Length at creation with a JSON 413 naming it (tus' own check
    // would answer first, in plain text), and the ingest reads no more than the type allows.
    maxSize: (request) => (request.method === 'OPTIONS' ? maxSize : 0),
    locker: locks.lockerFor,
    relativeLocation: true,
    exposedHeaders: [PHOTO_ID_HEADER, UPLOAD_STATE_HEADER],
    allowedHeaders: ['Authorization'],
    namingFunction: (request) => newUploadId(request, locks.stateOf(request)?.guest),
    onUploadCreate: async (request, upload) => {
      const metadata = await admitNewUpload(request, upload, locks.stateOf(request)!.caller, deps)
      return { metadata }
    },
    onResponseError: (request, error) => {
      if ('status_code' in error && typeof error.status_code === 'number') return undefined
      const state = locks.stateOf(request)
      if (state) state.answeredJson = true
      return toTusError(error, logger)
    },
  })

  async function handle(request: Request): Promise<Response> {
    try {
      assertUploadPath(request, path)
      if (request.method === 'OPTIONS') return advertise(await tus.handleWeb(request), store)
      if (request.method === 'GET') {
        throw new HttpProblem(405, 'BAD_REQUEST', 'Uploads are written with tus, not read.')
      }
      const admitted = await admit(request, options, deps)
      if (admitted instanceof Response) return admitted
      const response = await tus.handleWeb(admitted.request)
      return await finish(admitted.request, response, admitted.state, {
        ...deps,
        expiryMs,
        trustProxy,
      })
    } catch (error) {
      return errorResponse(error, logger)
    }
  }

  return {
    handle,
    cleanupExpired: () => sweepExpired(datastore, clock.now(), deps),
    recoverInterrupted: () => recoverAll(deps),
  }
}

/**
 * What tus' answer lacks: the photo of an upload this request ingested (whose bytes go now:
 * tus reads an upload's info after the write), a JSON type on the errors mapped here, the end
 * of a terminated upload's record, and a new guest's cookie (tus/guest-ticket.ts).
 */
async function finish(
  request: Request,
  response: Response,
  state: UploadRequest,
  {
    store,
    records,
    logger,
    path,
    expiryMs,
    trustProxy,
  }: TusDeps & {
    expiryMs: number
    trustProxy: boolean
  },
): Promise<Response> {
  if (state.answeredJson) response.headers.set('Content-Type', 'application/json; charset=utf-8')
  if (state.guest?.fresh && response.status === 201) {
    const secure = isHttps(request, new URL(request.url), trustProxy)
    const cookie = ticketCookie(state.guest.ticket, { path, maxAgeMs: expiryMs, secure })
    response.headers.append('Set-Cookie', cookie)
  }
  // A HEAD echoes the upload's metadata, whose filename becomes the photo's (photo data): not
  // to a key without photos.read, whichever key of the owner created the upload.
  const metadata = response.headers.get('Upload-Metadata')
  if (metadata !== null && !hasScope(state.caller, 'photos.read')) {
    const kept = withoutFilename(metadata)
    if (kept) response.headers.set('Upload-Metadata', kept)
    else response.headers.delete('Upload-Metadata')
  }
  if (state.ingested) {
    response.headers.set(PHOTO_ID_HEADER, state.ingested.photoId)
    response.headers.set(UPLOAD_STATE_HEADER, 'ready')
    await removeQuietly(store, state.ingested.uploadId, logger)
  }
  const id = uploadIdOf(request, path)
  if (request.method === 'DELETE' && response.status === 204 && id) await records.forget(id)
  return response
}

/**
 * The paths tus answers: `<path>` (and `<path>/`), where uploads are created, and
 * `<path>/<id>`, an upload. Anything else (`/files/a/b`, a POST to an upload's URL) is a JSON
 * 404 here, rather than tus' plain-text answers.
 */
function assertUploadPath(request: Request, path: string): void {
  const pathname = new URL(request.url).pathname
  const atRoot = pathname === path || pathname === `${path}/`
  if (!atRoot && (request.method === 'POST' || uploadIdOf(request, path) === null)) {
    throw new HttpProblem(404, 'NOT_FOUND', 'No such upload URL.')
  }
}

/** OPTIONS: the checksum algorithms, when the store verifies any (tus adds Tus-Max-Size). */
function advertise(response: Response, store: UploadStore): Response {
  const algorithms = store.checksumAlgorithms
  if (algorithms.length > 0) response.headers.set('Tus-Checksum-Algorithm', algorithms.join(','))
  return response
}
