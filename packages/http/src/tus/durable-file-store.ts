import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { localFile, type FileData } from '@darkroom/core'
import { FileStore } from '@tus/file-store'
import { ERRORS, FileKvStore, type Upload } from '@tus/utils'
import { CHECKSUM_ALGORITHMS, CHECKSUM_MISMATCH, type DeclaredChecksum } from './checksum.js'
import type { UploadStore } from './upload-store.js'

/**
 * The folder of tus uploads: `@tus/file-store`'s FileStore, made to keep its promises.
 *
 * - Durability: the stock `write` pipes into a write stream and reports the new offset without
 *   an fsync, so a crash can lose bytes the client was told are stored. Here every write ends
 *   (successfully or not) with `fsync` before the offset is returned, and the `.json` info file
 *   is written to a temp file, fsynced and renamed.
 * - Checksum extension: with a declared checksum the body is hashed while written; on a
 *   mismatch the file is truncated back to the offset it started at and `460 Checksum
 *   Mismatch` is thrown.
 * - Concatenation: the handler assembles a final upload by writing its partial uploads (`read`)
 *   into it with `write`, so with the same guarantees.
 * - `listUploads` and `openFinished` (the file itself, which core reads where it is).
 *
 * Darkroom's rules (the first-bytes check, ingest when filled, expiry) are not here: the files
 * handler puts them on whichever store it has (darkroom-data-store.ts).
 */

export interface DurableFileStoreOptions {
  directory: string
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/

export class DurableFileStore extends FileStore implements UploadStore {
  readonly label = 'folder storage'
  readonly checksumAlgorithms = CHECKSUM_ALGORITHMS

  constructor(options: DurableFileStoreOptions) {
    mkdirSync(options.directory, { recursive: true })
    super({ directory: options.directory, configstore: new DurableKvStore(options.directory) })
    this.extensions = [
      'creation',
      'creation-with-upload',
      'termination',
      'expiration',
      'checksum',
      'concatenation',
    ]
  }

  /** The file an upload's bytes are in (ids are server-made, checked by the base class). */
  async readHead(id: string, bytes: number): Promise<Buffer> {
    const handle = await open(this.pathOf(id), 'r')
    try {
      const buffer = Buffer.alloc(bytes)
      const { bytesRead } = await handle.read(buffer, 0, bytes, 0)
      return buffer.subarray(0, bytesRead)
    } finally {
      await handle.close()
    }
  }

  pathOf(id: string): string {
    if (!ID_PATTERN.test(id)) throw ERRORS.FILE_NOT_FOUND
    return join(this.directory, id)
  }

  async openFinished(id: string, size: number | null): Promise<FileData> {
    return localFile(this.pathOf(id), size)
  }

  async *listUploads(): AsyncIterable<{ id: string; createdAt: number }> {
    for (const id of (await this.configstore.list?.()) ?? []) {
      const info = await this.configstore.get(id)
      if (info?.creation_date) yield { id, createdAt: new Date(info.creation_date).getTime() }
    }
  }

  /**
   * Streams `source` into the file at `offset`, fsyncs, and returns the new end. Chunks are
   * gathered into writes of up to `WRITE_BATCH_BYTES` (one `writev`, no copy), and the body
   * keeps being read while the previous batch is written: one syscall and one thread-pool
   * round trip per batch, not per 64 KiB socket read.
   */
  override async write(
    source: Readable,
    id: string,
    offset: number,
    checksum: DeclaredChecksum | null = null,
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
    if (!ID_PATTERN.test(key)) throw ERRORS.FILE_NOT_FOUND
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
