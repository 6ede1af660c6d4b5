import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  DarkroomError,
  localFile,
  requireScope,
  systemClock,
  type FileData,
  type Caller,
  type Clock,
  type Darkroom,
  type ServerStore,
  type UploadRecord,
} from '@darkroom/core'
import { MemoryLocker, Server as TusServer } from '@tus/server'
import { Upload, type Locker } from '@tus/utils'
import type { Logger } from './logger.js'
import { GUEST_CALLER, requireCaller, toHeaders, type Authenticate } from './auth.js'
import { HttpProblem, toHttpError, toTusError } from './errors.js'
import { UploadRateLimiter } from './rate-limit.js'
import { sendError, sendJson } from './internal/respond.js'
import {
  CHECKSUM_ALGORITHMS,
  DurableFileStore,
  type ChecksumAlgorithm,
  type DeclaredChecksum,
} from './tus/durable-file-store.js'
import type { S3UploadStore } from './tus/s3-upload-store.js'
import { fromTusMetadata, parseUploadMetadata, toTusMetadata } from './tus/upload-metadata.js'

/**
 * tus 1.0 at `/files` through `@tus/server`, with what it leaves out done here:
 *
 * - Auth: every method but OPTIONS authenticates like tRPC (guest uploads when enabled); an
 *   upload belongs to its creator (recorded in the ServerStore), and anyone else gets 404.
 * - Refusal before bytes flow: at creation, the metadata is parsed strictly (400) and
 *   `darkroom.photos.precheck` refuses an upload too large (413), into a full album or past the
 *   quota (400); the first bytes are sniffed before they are written (422).
 * - Ingest inside the lock: the write that completes an upload ingests it before the lock is
 *   released, so no other request sees a complete upload that has no photo yet. The last
 *   PATCH answers `Darkroom-Photo-Id`, or the mapped 4xx with the violation as JSON; a failed
 *   upload is removed and answers 410 afterwards, so it never looks finished. The state
 *   (receiving, processing, ready, failed) is in the ServerStore for `uploads.status`.
 * - Checksum (sha1, sha256, md5) and concatenation, which `@tus/server` v2 only advertises or
 *   refuses: checksums are verified by the store, the final upload of a concatenation is
 *   assembled here (partials locked, copied, fsynced) and ingested like any other.
 * - With S3 blob storage, `uploadStore` puts the uploads in the bucket (tus/s3-upload-store.ts)
 *   with the same hooks (first-bytes sniff, ingest inside the lock), and the finished object is
 *   streamed into the engine. Checksums and concatenation are folder-only: not advertised on
 *   S3, and refused (400, 501) if a client sends them anyway.
 * - Every method of an upload, HEAD included, runs under the locker's lock (`MemoryLocker`:
 *   one process; with Postgres, compose.ts passes `PgLocker`, shared by every process). Offsets are fsynced before they are
 *   acknowledged. Expired uploads are removed by `cleanupExpired`, which the server runs on a
 *   timer.
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
  guestUploads: boolean
  /** Counts each POST (a new upload) against the caller's bucket; see rate-limit.ts. */
  uploadLimiter?: UploadRateLimiter
  logger: Logger
  clock?: Clock
  locker?: Locker
  /**
   * Another tus datastore than the folder (`directory`): with S3 blob storage, compose.ts
   * passes one that builds an `S3UploadStore` (tus/s3-upload-store.ts) around these hooks.
   * Checksums and concatenation stay folder-only: with another store they are neither
   * advertised nor accepted.
   */
  uploadStore?: (hooks: UploadStoreHooks) => S3UploadStore
}

/** What the handler needs a tus datastore to call back (see DurableFileStoreOptions). */
export interface UploadStoreHooks {
  expirationPeriodInMilliseconds: number
  onHead: (upload: Upload, head: Buffer) => Promise<void>
  onFilled: (upload: Upload) => Promise<void>
}

export interface FilesHandler {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>
  /** Removes uploads past their expiry (each under its lock); returns how many. */
  cleanupExpired(): Promise<number>
}

export const PHOTO_ID_HEADER = 'Darkroom-Photo-Id'
export const UPLOAD_STATE_HEADER = 'Darkroom-Upload-State'
const PARTIAL_PREFIX = 'part_'
const TUS_VERSION = '1.0.0'

interface RequestContext {
  caller: Caller
  res: ServerResponse
  checksum: DeclaredChecksum | null
  photoId?: string
}

interface IngestOutcome {
  photoId: string
  duplicate: boolean
}

export function createFilesHandler(options: FilesHandlerOptions): FilesHandler {
  const { darkroom, serverStore, logger } = options
  const path = options.path ?? '/files'
  const clock = options.clock ?? systemClock
  const locker = options.locker ?? new MemoryLocker()
  const context = new AsyncLocalStorage<RequestContext>()
  const ingesting = new Set<string>()

  const checksumOf = () => context.getStore()?.checksum ?? null
  const hooks: UploadStoreHooks = {
    expirationPeriodInMilliseconds: options.expiryMs,
    onHead: async (upload, head) => {
      if (isPartial(upload.id)) return
      const ctx = current()
      const { albumId } = fromTusMetadata(upload.metadata)
      try {
        // With the first bytes the type is known, and so is its size limit (a video's is larger).
        await darkroom.photos.precheck(ctx.caller, { albumId, head, size: upload.size ?? null })
      } catch (error) {
        // A refused type (or an album gone full meanwhile) will not get better: the upload is
        // failed and removed now rather than left to expire.
        const { body } = toHttpError(error)
        await saveRecord(upload.id, ctx.caller, { state: 'failed', error: body.error.message })
        ctx.res.once('close', () => void removeQuietly(upload.id))
        fail(error)
      }
    },
    onFilled: async (upload) => {
      if (isPartial(upload.id)) return
      const ctx = current()
      const outcome = await ingest(upload.id, ctx.caller).catch(fail)
      ctx.photoId = outcome.photoId
      // The tus handlers still read the upload's info after the write; remove it afterwards.
      ctx.res.once('close', () => void removeQuietly(upload.id))
    },
  }
  const datastore = options.uploadStore
    ? options.uploadStore(hooks)
    : new DurableFileStore({ directory: options.directory, checksumOf, ...hooks })
  /** The folder store, which alone has checksums and concatenation; null with S3. */
  const folder = datastore instanceof DurableFileStore ? datastore : null

  /** A finished upload's bytes: its file (read where it is), or its object in the bucket. */
  async function openUpload(id: string, size: number | null): Promise<FileData> {
    return folder ? localFile(folder.pathOf(id), size) : datastore.read(id)
  }

  const tus = new TusServer({
    path,
    datastore,
    locker,
    relativeLocation: true,
    exposedHeaders: [PHOTO_ID_HEADER, UPLOAD_STATE_HEADER],
    allowedHeaders: ['Authorization'],
    namingFunction: (req) => {
      const id = randomBytes(16).toString('hex')
      return req.headers.get('upload-concat') === 'partial' ? `${PARTIAL_PREFIX}${id}` : id
    },
    onUploadCreate: async (req, upload) => {
      const ctx = current()
      try {
        const partial = isPartial(upload.id)
        const metadata = parseUploadMetadata(req.headers.get('upload-metadata'))
        await darkroom.photos.precheck(ctx.caller, {
          albumId: partial ? null : metadata.albumId,
          size: upload.size ?? null,
        })
        await saveRecord(upload.id, ctx.caller, {
          filename: metadata.filename,
          albumId: partial ? null : metadata.albumId,
          size: upload.size ?? null,
        })
        return { metadata: partial ? {} : toTusMetadata(metadata) }
      } catch (error) {
        return fail(error)
      }
    },
    onUploadFinish: async () => {
      const photoId = context.getStore()?.photoId
      return photoId
        ? { headers: { [PHOTO_ID_HEADER]: photoId, [UPLOAD_STATE_HEADER]: 'ready' } }
        : {}
    },
    onResponseError: (_req, error) => {
      if ('status_code' in error && typeof error.status_code === 'number') return undefined
      return toTusError(error, logger)
    },
  })

  function current(): RequestContext {
    const ctx = context.getStore()
    if (!ctx) throw new Error('tus hook outside of a request context')
    return ctx
  }

  /** Maps an error to what a tus hook throws, with a JSON content type on the response. */
  function fail(error: unknown): never {
    const ctx = context.getStore()
    if (error && typeof error === 'object' && 'status_code' in error) throw error
    if (ctx && !ctx.res.headersSent) ctx.res.setHeader('Content-Type', 'application/json')
    throw toTusError(error, logger)
  }

  async function saveRecord(
    id: string,
    caller: Caller,
    fields: Partial<UploadRecord>,
  ): Promise<UploadRecord> {
    const existing = await serverStore.getUpload(id)
    const now = clock.now()
    const record: UploadRecord = {
      id,
      ownerId: caller.ownerId,
      state: 'receiving',
      filename: '',
      size: null,
      albumId: null,
      photoId: null,
      error: null,
      createdAt: now,
      ...existing,
      ...fields,
      updatedAt: now,
    }
    await serverStore.saveUpload(record)
    return record
  }

  async function removeQuietly(id: string): Promise<void> {
    await datastore.remove(id).catch((error: unknown) => {
      if ((error as { status_code?: number })?.status_code === 404) return
      logger.warn({ err: error, uploadId: id }, 'could not remove an upload file')
    })
  }

  /**
   * Ingests a complete upload; the caller holds its lock. On failure the upload is marked
   * failed with the violation, its file removed, and the error rethrown.
   */
  async function ingest(id: string, caller: Caller): Promise<IngestOutcome> {
    ingesting.add(id)
    try {
      const upload = await datastore.getUpload(id)
      const metadata = fromTusMetadata(upload.metadata)
      await saveRecord(id, caller, { state: 'processing', size: upload.size ?? upload.offset })
      try {
        const result = await darkroom.photos.upload(caller, {
          files: [
            {
              filename: metadata.filename,
              data: await openUpload(id, upload.size ?? upload.offset),
            },
          ],
          albumId: metadata.albumId,
          category: metadata.category,
          pending: metadata.pending,
        })
        const photo = result.uploaded[0]
        const skipped = result.skipped[0]
        const photoId = photo?.id ?? skipped?.existingId
        if (!photoId) {
          throw new DarkroomError('VALIDATION', skipped?.message ?? 'The file was not stored.', {
            violations: [
              { property: 'file', message: skipped?.message ?? 'The file was not stored.' },
            ],
          })
        }
        await saveRecord(id, caller, { state: 'ready', photoId, error: null })
        logger.info({ uploadId: id, photoId, duplicate: !photo }, 'upload ingested')
        return { photoId, duplicate: !photo }
      } catch (error) {
        const { body } = toHttpError(error)
        await saveRecord(id, caller, { state: 'failed', error: body.error.message }).catch(
          (err: unknown) => logger.error({ err, uploadId: id }, 'could not record a failed upload'),
        )
        await removeQuietly(id)
        throw error
      }
    } finally {
      ingesting.delete(id)
    }
  }

  async function withLock<T>(ids: readonly string[], fn: () => Promise<T>): Promise<T> {
    const held: { unlock(): Promise<void> }[] = []
    try {
      for (const id of [...ids].sort()) {
        const lock = locker.newLock(id)
        await lock.lock(new AbortController().signal, () => {})
        held.push(lock)
      }
      return await fn()
    } finally {
      for (const lock of held.reverse()) await lock.unlock()
    }
  }

  /** An upload left complete but not ingested (a crash in between) is ingested now. */
  async function recover(record: UploadRecord, caller: Caller): Promise<UploadRecord> {
    if (isPartial(record.id) || ingesting.has(record.id)) return record
    if (record.state !== 'processing' && record.state !== 'receiving') return record
    return withLock([record.id], async () => {
      const fresh = await serverStore.getUpload(record.id)
      if (!fresh || (fresh.state !== 'processing' && fresh.state !== 'receiving')) {
        return fresh ?? record
      }
      const upload = await datastore.getUpload(record.id).catch(() => null)
      if (!upload) {
        if (fresh.state === 'receiving') return fresh
        return saveRecord(record.id, caller, {
          state: 'failed',
          error: 'The upload was interrupted while it was processed; upload the file again.',
        })
      }
      if (upload.size === undefined || upload.offset !== upload.size) return fresh
      await ingest(record.id, caller)
        .then(() => removeQuietly(record.id))
        .catch(() => undefined)
      return (await serverStore.getUpload(record.id)) ?? fresh
    })
  }

  async function authenticate(req: IncomingMessage): Promise<Caller> {
    const caller = await options.authenticate({ headers: toHeaders(req.headers) })
    if (!caller && options.guestUploads) return GUEST_CALLER
    return requireCaller(caller)
  }

  function idOf(req: IncomingMessage): string | null {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname
    if (!pathname.startsWith(`${path}/`)) return null
    const id = pathname.slice(path.length + 1).replace(/\/$/, '')
    return /^[A-Za-z0-9_-]{1,128}$/.test(id) ? id : null
  }

  function tusHeaders(extra: Record<string, string> = {}): Record<string, string> {
    return { 'Tus-Resumable': TUS_VERSION, ...extra }
  }

  /** A finished upload whose file is gone still answers HEAD as complete, with its photo. */
  function answerSettled(res: ServerResponse, method: string, record: UploadRecord): boolean {
    if (record.state === 'ready' && record.photoId) {
      if (method !== 'HEAD') return false
      const size = String(record.size ?? 0)
      res.writeHead(200, {
        ...tusHeaders(),
        'Upload-Offset': size,
        'Upload-Length': size,
        'Cache-Control': 'no-store',
        [PHOTO_ID_HEADER]: record.photoId,
        [UPLOAD_STATE_HEADER]: 'ready',
      })
      res.end()
      return true
    }
    if (record.state === 'failed') {
      const message = record.error ?? 'The upload failed.'
      sendJson(
        res,
        410,
        { error: { code: 'UPLOAD_FAILED', message } },
        {
          ...tusHeaders(),
          [UPLOAD_STATE_HEADER]: 'failed',
        },
      )
      return true
    }
    return false
  }

  async function finalize(
    req: IncomingMessage,
    res: ServerResponse,
    caller: Caller,
    concat: string,
  ): Promise<void> {
    if (!folder) {
      throw new HttpProblem(
        501,
        'NOT_IMPLEMENTED',
        'Concatenation is not supported with S3 storage; upload the file in one tus upload.',
      )
    }
    const metadata = parseUploadMetadata(req.headers['upload-metadata'] as string | undefined)
    const urls = concat.slice('final;'.length).trim().split(/\s+/).filter(Boolean)
    if (urls.length === 0 || urls.length > 64) {
      throw new HttpProblem(400, 'BAD_REQUEST', 'Upload-Concat names no partial uploads.')
    }
    const partIds = urls.map((url) => {
      const pathname = new URL(url, 'http://localhost').pathname
      const id = pathname.startsWith(`${path}/`) ? pathname.slice(path.length + 1) : ''
      if (!id.startsWith(PARTIAL_PREFIX) || !/^[A-Za-z0-9_-]+$/.test(id)) {
        throw new HttpProblem(
          400,
          'BAD_REQUEST',
          'Upload-Concat names an upload that is not partial.',
        )
      }
      return id
    })
    if (new Set(partIds).size !== partIds.length) {
      throw new HttpProblem(400, 'BAD_REQUEST', 'Upload-Concat names a partial upload twice.')
    }
    for (const id of partIds) {
      const record = await serverStore.getUpload(id)
      if (!record || record.ownerId !== caller.ownerId) {
        throw new DarkroomError('NOT_FOUND', `Upload ${JSON.stringify(id)} was not found.`)
      }
    }
    const finalId = randomBytes(16).toString('hex')
    const outcome = await withLock([...partIds, finalId], async () => {
      const parts = await Promise.all(partIds.map((id) => datastore.getUpload(id)))
      for (const part of parts) {
        if (part.size === undefined || part.offset !== part.size) {
          throw new HttpProblem(409, 'CONFLICT', `Partial upload ${part.id} is not finished.`)
        }
      }
      const size = parts.reduce((sum, part) => sum + (part.size ?? 0), 0)
      await darkroom.photos.precheck(caller, { albumId: metadata.albumId, size })
      await folder.create(
        new Upload({ id: finalId, size, offset: 0, metadata: toTusMetadata(metadata) }),
      )
      await saveRecord(finalId, caller, {
        filename: metadata.filename,
        albumId: metadata.albumId,
        size,
      })
      let offset = 0
      for (const part of parts) {
        offset = await folder.append(finalId, offset, createReadStream(folder.pathOf(part.id)))
      }
      for (const part of parts) {
        await removeQuietly(part.id)
        await serverStore.deleteUpload(part.id)
      }
      const result = await ingest(finalId, caller)
      await removeQuietly(finalId)
      return result
    })
    res.writeHead(201, {
      ...tusHeaders(),
      Location: `${path}/${finalId}`,
      'Upload-Concat': `final;${partIds.map((id) => `${path}/${id}`).join(' ')}`,
      'Access-Control-Expose-Headers': `Location, ${PHOTO_ID_HEADER}, ${UPLOAD_STATE_HEADER}`,
      [PHOTO_ID_HEADER]: outcome.photoId,
      [UPLOAD_STATE_HEADER]: 'ready',
    })
    res.end()
  }

  return {
    async handle(req, res) {
      const method = req.method ?? 'GET'
      try {
        if (method === 'OPTIONS') {
          if (folder) res.setHeader('Tus-Checksum-Algorithm', CHECKSUM_ALGORITHMS.join(','))
          await tus.handle(req, res)
          return
        }
        if (method === 'GET') {
          throw new HttpProblem(405, 'BAD_REQUEST', 'Uploads are written with tus, not read.')
        }
        const caller = await authenticate(req)
        // Creating, writing and terminating uploads are writes; a read-only key may only HEAD.
        if (method !== 'HEAD') requireScope(caller, 'photos.write')
        if (method === 'POST' && options.uploadLimiter) {
          const guest = caller === GUEST_CALLER
          options.uploadLimiter.take(
            UploadRateLimiter.bucketOf(caller, guest, req.socket.remoteAddress),
          )
        }
        const concat = req.headers['upload-concat']
        if (method === 'POST' && typeof concat === 'string' && concat.startsWith('final;')) {
          await finalize(req, res, caller, concat)
          return
        }
        if (method !== 'POST') {
          const id = idOf(req)
          let record = id ? await serverStore.getUpload(id) : null
          if (!record || record.ownerId !== caller.ownerId) {
            throw new DarkroomError(
              'NOT_FOUND',
              `Upload ${JSON.stringify(id ?? '')} was not found.`,
            )
          }
          if (method === 'HEAD') record = await recover(record, caller)
          if (method === 'DELETE' && record.state === 'processing') {
            throw new HttpProblem(409, 'CONFLICT', 'The upload is being processed.')
          }
          if (method === 'DELETE' && record.state !== 'receiving') {
            // Settled: its file is gone already; forget the record.
            await serverStore.deleteUpload(record.id)
            res.writeHead(204, tusHeaders())
            res.end()
            return
          }
          if (answerSettled(res, method, record)) return
        }
        const checksum = parseChecksum(req.headers['upload-checksum'])
        if (checksum && !folder) {
          throw new HttpProblem(
            400,
            'BAD_REQUEST',
            'Upload-Checksum is not supported with S3 storage (the checksum extension is off).',
          )
        }
        await context.run({ caller, res, checksum }, () => tus.handle(req, res))
        if (method === 'DELETE' && res.statusCode === 204) {
          const id = idOf(req)
          if (id) await serverStore.deleteUpload(id)
        }
      } catch (error) {
        sendError(res, error, logger, tusHeaders())
      }
    },

    async cleanupExpired() {
      let removed = 0
      for (const id of await datastore.listExpired(clock.now().getTime())) {
        if (ingesting.has(id)) continue
        await withLock([id], async () => {
          await removeQuietly(id)
          const record = await serverStore.getUpload(id)
          if (record && record.state === 'receiving') {
            if (isPartial(id)) {
              await serverStore.deleteUpload(id)
            } else {
              await serverStore.saveUpload({
                ...record,
                state: 'failed',
                error: 'The upload expired before it was finished.',
                updatedAt: clock.now(),
              })
            }
          }
        })
        removed++
      }
      if (removed > 0) logger.info({ removed }, 'expired uploads removed')
      return removed
    },
  }
}

function isPartial(id: string): boolean {
  return id.startsWith(PARTIAL_PREFIX)
}

function parseChecksum(header: string | string[] | undefined): DeclaredChecksum | null {
  if (header === undefined) return null
  const match =
    typeof header === 'string'
      ? /^\s*([a-z0-9-]+)\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header)
      : null
  if (!match)
    throw new HttpProblem(400, 'BAD_REQUEST', 'Upload-Checksum must be "<algorithm> <base64>".')
  const algorithm = match[1]!.toLowerCase()
  if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new HttpProblem(
      400,
      'BAD_REQUEST',
      `Unsupported checksum algorithm; use one of ${CHECKSUM_ALGORITHMS.join(', ')}.`,
    )
  }
  return { algorithm: algorithm as ChecksumAlgorithm, digest: match[2]! }
}
