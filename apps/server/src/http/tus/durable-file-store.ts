import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { open, rename, rm, writeFile } from 'node:fs/promises'
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

  async #writeAt(
    id: string,
    offset: number,
    source: AsyncIterable<Uint8Array>,
    checksum: DeclaredChecksum | null,
  ): Promise<number> {
    const handle = await open(this.pathOf(id), 'r+')
    const hash = checksum ? createHash(checksum.algorithm) : null
    let position = offset
    let failure: unknown
    try {
      for await (const chunk of source) {
        let written = 0
        while (written < chunk.byteLength) {
          const { bytesWritten } = await handle.write(
            chunk,
            written,
            chunk.byteLength - written,
            position + written,
          )
          written += bytesWritten
        }
        position += chunk.byteLength
        hash?.update(chunk)
      }
      if (checksum && hash!.digest('base64') !== checksum.digest) {
        failure = CHECKSUM_MISMATCH
      }
    } catch {
      // The body broke off: what arrived is kept (the upload resumes from there), unless a
      // checksum was declared, which a partial body cannot match.
      failure = checksum ? CHECKSUM_MISMATCH : ERRORS.FILE_WRITE_ERROR
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

/** The stock `.json` info store, with writes that are atomic and fsynced. */
class DurableKvStore extends FileKvStore {
  override async set(key: string, value: Upload): Promise<void> {
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
    } catch (error) {
      await rm(tmp, { force: true })
      throw error
    }
  }

  override async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true })
  }

  #path(key: string): string {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(key)) throw ERRORS.FILE_NOT_FOUND
    return join(this.directory, `${key}.json`)
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
