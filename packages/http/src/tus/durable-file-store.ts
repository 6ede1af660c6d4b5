import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { FileStore } from '@tus/file-store'
import { ERRORS, FileKvStore, type Upload } from '@tus/utils'

/**
 * `@tus/file-store`'s FileStore, made to keep its promises:
 *
 * - Durability: the stock `write` pipes into a write stream and reports the new offset without
 *   an fsync, so a crash can lose bytes the client was told are stored. Here every write ends
 *   (successfully or not) with `fsync` before the offset is returned, and the `.json` info file
 *   is written to a temp file, fsynced and renamed.
 * - Checksum extension: when the request declared `Upload-Checksum` (read through `checksumOf`,
 *   the request context), the body is hashed while written; on a mismatch the file is truncated
 *   back to the offset it started at and `460 Checksum Mismatch` is thrown.
 * - A look at the first bytes: at offset 0, `onHead` gets the first `headBytes` of the body
 *   before any is written, and may refuse the upload by throwing (a wrong file type).
 * - Completion inside the lock: `onFilled` runs when a write completes the upload, before the
 *   handler releases the upload's lock (the stock `onUploadFinish` runs after it).
 * - Expiration: `listExpired` names the uploads older than the expiration period, so that the
 *   server can remove each under its lock (the stock `deleteExpired` removes without locking).
 *
 * Concatenation is done by the tus handler (`@tus/server` does not implement it); it uses
 * `append` to copy finished partial uploads into the final one with the same guarantees.
 */

export const CHECKSUM_ALGORITHMS = ['sha1', 'sha256', 'md5'] as const
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number]

export interface DeclaredChecksum {
  algorithm: ChecksumAlgorithm
  /** The digest, base64 as the tus checksum extension sends it. */
  digest: string
}

export interface DurableFileStoreOptions {
  directory: string
  expirationPeriodInMilliseconds?: number
  checksumOf?: () => DeclaredChecksum | null
  onHead?: (upload: Upload, head: Buffer) => Promise<void>
  /** How many first bytes `onHead` wants (4100 are enough to sniff any allowed type). */
  headBytes?: number
  /**
   * Called when a write completes the upload, after the fsync and before the new offset is
   * returned, so still under the request's lock. A throw fails the request.
   */
  onFilled?: (upload: Upload) => Promise<void>
}

export const CHECKSUM_MISMATCH = { status_code: 460, body: 'Checksum Mismatch\n' }

export class DurableFileStore extends FileStore {
  readonly #options: DurableFileStoreOptions

  constructor(options: DurableFileStoreOptions) {
    mkdirSync(options.directory, { recursive: true })
    super({
      directory: options.directory,
      configstore: new DurableKvStore(options.directory),
      ...(options.expirationPeriodInMilliseconds === undefined
        ? {}
        : { expirationPeriodInMilliseconds: options.expirationPeriodInMilliseconds }),
    })
    this.#options = options
    this.extensions = [
      'creation',
      'creation-with-upload',
      'termination',
      'expiration',
      'checksum',
      'concatenation',
    ]
  }

  /**
   * `@tus/server` 2.x asks for "concatentation" (sic) before it lets a partial upload be created;
   * the final upload is assembled by the handler (files.ts), so the answer is yes.
   */
  override hasExtension(extension: string): boolean {
    return extension === 'concatentation' || super.hasExtension(extension)
  }

  /** The file an upload's bytes are in (ids are server-made, checked by the base class). */
  pathOf(id: string): string {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) throw ERRORS.FILE_NOT_FOUND
    return join(this.directory, id)
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    const checksum = this.#options.checksumOf?.() ?? null
    let source: AsyncIterable<Uint8Array> = readable
    if (offset === 0 && this.#options.onHead) {
      const upload = await this.getUpload(id)
      const wanted = Math.min(this.#options.headBytes ?? 4100, upload.size ?? Infinity)
      const peeked = await peek(readable, wanted)
      // A body too short to tell is written as it is; ingest checks the type again anyway.
      if (peeked.head.byteLength >= wanted && wanted > 0) {
        await this.#options.onHead(upload, peeked.head)
      }
      source = peeked.rest
    }
    const position = await this.#writeAt(id, offset, source, checksum)
    if (this.#options.onFilled) {
      const upload = await this.getUpload(id)
      if (upload.size !== undefined && position === upload.size)
        await this.#options.onFilled(upload)
    }
    return position
  }

  /** Appends a whole stream at `offset` (concatenation), fsynced before it returns. */
  append(id: string, offset: number, source: AsyncIterable<Uint8Array>): Promise<number> {
    return this.#writeAt(id, offset, source, null)
  }

  /**
   * Streams `source` into the file at `offset`, fsyncs, and returns the new end. Chunks are
   * gathered into writes of up to `WRITE_BATCH_BYTES` (one `writev`, no copy), and the body
   * keeps being read while the previous batch is written: one syscall and one thread-pool
   * round trip per batch, not per 64 KiB socket read.
   */
  async #writeAt(
    id: string,
    offset: number,
    source: AsyncIterable<Uint8Array>,
    checksum: DeclaredChecksum | null,
  ): Promise<number> {
    const handle = await open(this.pathOf(id), 'r+')
    const hash = checksum ? createHash(checksum.algorithm) : null
    // `position`: the end of what is on disk; `queued`: the end once the pending batch is too.
    let position = offset
    let queued = offset
    let batch: Uint8Array[] = []
    let batchBytes = 0
    let writing: Promise<void> = Promise.resolve()
    let writeFailed = false
    const flush = () => {
      const chunks = batch
      const at = queued - batchBytes
      const end = queued
      batch = []
      batchBytes = 0
      writing = writing
        .then(() => writeFully(handle, chunks, at))
        .then(
          () => void (position = end),
          (error: unknown) => {
            writeFailed = true
            throw error
          },
        )
      return writing
    }
    let failure: unknown
    try {
      for await (const chunk of source) {
        if (chunk.byteLength === 0) continue
        batch.push(chunk)
        batchBytes += chunk.byteLength
        queued += chunk.byteLength
        hash?.update(chunk)
        // At most one batch written while the next one fills: the memory held stays bounded.
        if (queued - position >= 2 * WRITE_BATCH_BYTES) await writing
        if (batchBytes >= WRITE_BATCH_BYTES || batch.length >= WRITE_BATCH_CHUNKS) {
          void flush().catch(() => undefined)
        }
      }
      await flush()
      if (checksum && hash!.digest('base64') !== checksum.digest) {
        failure = CHECKSUM_MISMATCH
      }
    } catch {
      // The body broke off: what arrived is kept (the upload resumes from there), unless a
      // checksum was declared, which a partial body cannot match.
      failure = checksum ? CHECKSUM_MISMATCH : ERRORS.FILE_WRITE_ERROR
      // Nothing may land after the truncation below, and what did arrive is written.
      await (checksum || writeFailed ? writing : flush()).catch(() => undefined)
    }
    try {
      if (failure === CHECKSUM_MISMATCH) {
        await handle.truncate(offset)
        position = offset
      }
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (failure) throw failure
    return position
  }

  /** Ids of the uploads created longer ago than the expiration period. */
  async listExpired(now: number = Date.now()): Promise<string[]> {
    const expiry = this.getExpiration()
    if (expiry <= 0) return []
    const expired: string[] = []
    for (const id of (await this.configstore.list?.()) ?? []) {
      const info = await this.configstore.get(id)
      if (!info?.creation_date) continue
      if (new Date(info.creation_date).getTime() + expiry < now) expired.push(id)
    }
    return expired
  }

  override async deleteExpired(): Promise<number> {
    const expired = await this.listExpired()
    for (const id of expired) await this.remove(id).catch(() => undefined)
    return expired.length
  }
}

/**
 * The stock `.json` info store, with writes that are atomic and fsynced, and reads cached: an
 * info file is written once, at creation, and every PATCH reads it again (four thread-pool trips
 * for a file that never changes once its length is known; uploads of deferred length are not
 * cached). A cached entry can only outlive its file when another process removed the upload, and
 * then the upload's data file is gone too, which `getUpload` checks.
 */
class DurableKvStore extends FileKvStore {
  readonly #cache = new Map<string, string>()

  override async get(key: string): Promise<Upload | undefined> {
    const cached = this.#cache.get(key)
    if (cached !== undefined) return JSON.parse(cached) as Upload
    const value = await super.get(key)
    if (value !== undefined) this.#remember(key, JSON.stringify(value))
    return value
  }

  override async set(key: string, value: Upload): Promise<void> {
    this.#cache.delete(key)
    const target = this.#path(key)
    const tmp = `${target}.${process.pid}.${Date.now()}.tmp`
    await writeFile(tmp, JSON.stringify(value))
    try {
      const handle = await open(tmp, 'r')
      try {
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(tmp, target)
      this.#remember(key, JSON.stringify(value))
    } catch (error) {
      await rm(tmp, { force: true })
      throw error
    }
  }

  override async delete(key: string): Promise<void> {
    this.#cache.delete(key)
    await rm(this.#path(key), { force: true })
  }

  #remember(key: string, json: string): void {
    // A deferred length is declared later, possibly through another process: not cached.
    if ((JSON.parse(json) as Upload).size === undefined) return
    if (this.#cache.size >= INFO_CACHE_ENTRIES) {
      this.#cache.delete(this.#cache.keys().next().value!)
    }
    this.#cache.set(key, json)
  }

  #path(key: string): string {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(key)) throw ERRORS.FILE_NOT_FOUND
    return join(this.directory, `${key}.json`)
  }
}

/** Info files kept in memory: the uploads in progress at once, with room to spare. */
const INFO_CACHE_ENTRIES = 1024

/** Bytes gathered before a write: large enough that syscalls cost nothing, small for RSS. */
const WRITE_BATCH_BYTES = 1024 * 1024
/** And at most this many chunks per `writev` (under every platform's IOV_MAX). */
const WRITE_BATCH_CHUNKS = 512

/** `writev` until every byte of `chunks` is at `position` (a write may be partial). */
async function writeFully(
  handle: FileHandle,
  chunks: readonly Uint8Array[],
  position: number,
): Promise<void> {
  let rest = chunks
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest as Uint8Array[], position)
    position += bytesWritten
    let skipped = bytesWritten
    const next: Uint8Array[] = []
    for (const chunk of rest) {
      if (skipped >= chunk.byteLength) skipped -= chunk.byteLength
      else {
        next.push(skipped > 0 ? chunk.subarray(skipped) : chunk)
        skipped = 0
      }
    }
    rest = next
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
