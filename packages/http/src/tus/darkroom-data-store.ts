import { Readable } from 'node:stream'
import type { Caller, Darkroom } from '@darkroom/core'
import { DataStore, type Upload } from '@tus/utils'
import { HttpProblem, toHttpError } from '../errors.js'
import type { Logger } from '../logger.js'
import { isPartial } from './concatenation.js'
import { removeQuietly, type UploadIngest } from './ingest.js'
import type { RequestLocks } from './request-locks.js'
import { fromTusMetadata } from './upload-metadata.js'
import type { UploadRecords } from '@darkroom/trpc'
import type { UploadStore } from './upload-store.js'

/**
 * Darkroom's rules on whichever store keeps the uploads (the folder or S3), as the one
 * DataStore `@tus/server` sees. Every call is the store's, but for:
 *
 * - `write`, which tus calls under the upload's lock, for the request that holds it
 *   (request-locks.ts): at offset 0 the first bytes are looked at before any is stored, and
 *   `darkroom.photos.precheck` may refuse them (a PDF; a video over its limit); the upload is
 *   then failed and removed at once. The body is written by the store, which verifies the
 *   request's checksum and makes the new offset durable before returning it. When the write
 *   fills the upload, it is ingested before the offset is returned, so still under the lock:
 *   no request ever sees a complete upload that has no photo yet.
 * - Expiry: uploads expire `expiryMs` after their creation, whatever the store; `listExpired`
 *   names them for the handler's sweep, which removes each under its lock.
 * - `hasExtension`, which answers tus' misspelt "concatentation" too.
 *
 * Partial uploads of a concatenation are written as they come: they are looked at and ingested
 * once assembled into their final upload.
 */

export interface DarkroomDataStoreOptions {
  darkroom: Darkroom
  records: UploadRecords
  ingest: UploadIngest
  locks: RequestLocks
  /** Unfinished uploads are expired this long after their creation; 0: never. */
  expiryMs: number
  logger: Logger
}

/** First bytes looked at: enough to sniff any allowed type. */
const HEAD_BYTES = 4100

export class DarkroomDataStore extends DataStore {
  readonly #options: DarkroomDataStoreOptions

  constructor(
    readonly base: UploadStore,
    options: DarkroomDataStoreOptions,
  ) {
    super()
    this.#options = options
    this.extensions = base.extensions
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    const request = this.#options.locks.holderOf(id)
    const upload = await this.base.getUpload(id)
    const ruled = !isPartial(id)
    const wanted = Math.min(HEAD_BYTES, upload.size ?? Infinity)
    const source =
      ruled && offset < wanted
        ? await this.#lookAtHead(upload, offset, readable, request.caller)
        : readable
    const end = await this.base.write(source, id, offset, request.checksum)
    if (ruled && end === upload.size) {
      const photoId = await this.#options.ingest.run(upload, request.caller)
      request.ingested = { uploadId: id, photoId }
    }
    return end
  }

  /** Uploads created more than `expiryMs` before `now`. */
  async listExpired(now: number): Promise<string[]> {
    const { expiryMs } = this.#options
    const expired: string[] = []
    if (expiryMs <= 0) return expired
    for await (const { id, createdAt } of this.base.listUploads()) {
      if (createdAt + expiryMs < now) expired.push(id)
    }
    return expired
  }

  override getExpiration(): number {
    return this.#options.expiryMs
  }

  /** `@tus/server` 2.x asks for "concatentation" (sic) before it creates a partial upload. */
  override hasExtension(extension: string): boolean {
    return this.base.hasExtension(extension === 'concatentation' ? 'concatenation' : extension)
  }

  override create(upload: Upload): Promise<Upload> {
    return this.base.create(upload)
  }

  override getUpload(id: string): Promise<Upload> {
    return this.base.getUpload(id)
  }

  override remove(id: string): Promise<void> {
    return this.base.remove(id)
  }

  override declareUploadLength(id: string, length: number): Promise<void> {
    return this.base.declareUploadLength(id, length)
  }

  /**
   * The body of a PATCH at `offset`, inside the first bytes of the upload: as soon as the bytes
   * stored and this body's first ones make the head, `precheck` looks at it before any of the
   * body is written, whatever the sizes of the PATCHes before (a first PATCH of 1 byte does
   * not skip the check). A head still short is written as it is, and looked at by the next.
   */
  async #lookAtHead(
    upload: Upload,
    offset: number,
    readable: Readable,
    caller: Caller,
  ): Promise<Readable> {
    const { darkroom, records, logger } = this.#options
    const wanted = Math.min(HEAD_BYTES, upload.size ?? Infinity)
    const { head: fresh, rest } = await peek(readable, wanted - offset)
    const ends = upload.size !== undefined && offset + fresh.byteLength >= upload.size
    const complete = offset + fresh.byteLength >= wanted || ends
    if (!this.base.readHead && (offset > 0 || !complete)) {
      throw new HttpProblem(
        400,
        'BAD_REQUEST',
        `This upload store needs the first ${wanted} bytes of the file in the first PATCH.`,
      )
    }
    if (wanted > 0 && complete) {
      const stored = offset > 0 ? await this.base.readHead!(upload.id, offset) : Buffer.alloc(0)
      const head = Buffer.concat([stored, fresh])
      const { albumId } = fromTusMetadata(upload.metadata)
      // With the first bytes the type is known, and so is its size limit (a video's is larger).
      await darkroom.photos
        .precheck(caller, { albumId, head, size: upload.size ?? null })
        .catch(async (error: unknown) => {
          // A refused type (or an album gone full meanwhile) will not get better: the upload
          // is failed and removed now rather than left to expire.
          await records.move(upload.id, 'failed', { error: toHttpError(error).body.error.message })
          await removeQuietly(this.base, upload.id, logger)
          throw error
        })
    }
    return Readable.from(rest, { objectMode: false })
  }
}

/** Reads at least `bytes` (or the whole body if shorter) and gives back the rest as a stream. */
async function peek(
  readable: AsyncIterable<Uint8Array>,
  bytes: number,
): Promise<{ head: Buffer; rest: AsyncIterable<Uint8Array> }> {
  const iterator = readable[Symbol.asyncIterator]()
  const chunks: Buffer[] = []
  let length = 0
  let done = false
  while (length < bytes) {
    const next = await iterator.next()
    if (next.done) {
      done = true
      break
    }
    const chunk = Buffer.from(next.value)
    chunks.push(chunk)
    length += chunk.byteLength
  }
  const head = Buffer.concat(chunks)
  async function* rest() {
    if (head.byteLength > 0) yield head
    if (done) return
    for (;;) {
      const next = await iterator.next()
      if (next.done) return
      yield next.value
    }
  }
  return { head, rest: rest() }
}
