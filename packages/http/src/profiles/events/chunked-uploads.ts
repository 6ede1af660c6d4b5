import { randomBytes, randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DarkroomError, isDarkroomError, type Clock } from '@darkroom/core'
import type { Logger } from '../../logger.js'

/**
 * The events API's chunked uploads: a file declared up front (name, size), sent as numbered
 * chunks in any order and in parallel, then assembled and ingested by `complete`.
 *
 * On disk, one folder per upload under `directory`:
 * - `upload.json`, the record, written once under a temporary name and renamed into place;
 * - `chunk-<i>`, each chunk written under a temporary name, fsynced and renamed: a chunk is
 *   either absent or whole, and sending it again replaces it atomically (idempotent, and safe
 *   when two requests race for the same chunk);
 * - `assembled-<random>` while `complete` streams the chunks, in order, into one file.
 * Every chunk is exactly `chunkSize` bytes but the last, which holds the rest of the declared
 * size, so the chunks and their bytes are bounded by the declared size: nothing more is taken.
 *
 * The state is the folder: a restart loses nothing. Only the guard against a second `complete`
 * (or a chunk) arriving while one runs is held in the process.
 *
 * An upload expires `expiryMs` after it was created. Expired uploads are removed lazily: when
 * one is asked for (it is then `NOT_FOUND`), and by a sweep of the folder that `create` runs at
 * most every ten minutes. `complete` removes the upload once its file is ingested, or refused
 * for its own bytes (type, size, a corrupt file: sending it again cannot help); after any other
 * failure (the event's cap, the owner's quota, storage) it stays, so `complete` can be retried.
 */

export interface ChunkedUploadStoreOptions {
  directory: string
  /** Bytes of every chunk but the last. */
  chunkSizeBytes: number
  expiryMs: number
  clock: Clock
  logger: Logger
}

export interface ChunkedUpload {
  id: string
  ownerId: string
  eventId: string
  filename: string
  /** Declared size in bytes. */
  size: number
  /** What the client declared; the type is decided from the bytes. */
  mimeType: string
  chunkSize: number
  chunkCount: number
  /** Milliseconds since the epoch. */
  createdAt: number
  expiresAt: number
}

export type NewChunkedUpload = Pick<
  ChunkedUpload,
  'ownerId' | 'eventId' | 'filename' | 'size' | 'mimeType'
>

const SWEEP_INTERVAL_MS = 10 * 60_000
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const RECORD = 'upload.json'
/** Refusals of the file's own bytes: completing it again would fail again. */
const FINAL_CODES = new Set(['VALIDATION', 'PAYLOAD_TOO_LARGE'])

export class ChunkedUploadStore {
  private readonly completing = new Set<string>()
  private nextSweepAt = 0

  constructor(private readonly options: ChunkedUploadStoreOptions) {}

  /** Records a new upload and returns it (with its id and chunk size). */
  async create(input: NewChunkedUpload): Promise<ChunkedUpload> {
    await this.sweepIfDue()
    const now = this.options.clock.now().getTime()
    const chunkSize = this.options.chunkSizeBytes
    const upload: ChunkedUpload = {
      id: randomUUID(),
      ...input,
      chunkSize,
      chunkCount: Math.ceil(input.size / chunkSize),
      createdAt: now,
      expiresAt: now + this.options.expiryMs,
    }
    const folder = this.folderOf(upload.id)
    await mkdir(folder, { recursive: true, mode: 0o700 })
    const temporary = join(folder, `${RECORD}.part`)
    await writeFile(temporary, JSON.stringify(upload), { mode: 0o600 })
    await rename(temporary, join(folder, RECORD))
    return upload
  }

  /** The caller's upload; `NOT_FOUND` when it is missing, someone else's, or expired. */
  async get(ownerId: string, id: string): Promise<ChunkedUpload> {
    const upload = UPLOAD_ID.test(id) ? await this.read(id) : null
    if (!upload || upload.ownerId !== ownerId) throw notFound(id)
    if (upload.expiresAt <= this.options.clock.now().getTime() && !this.completing.has(id)) {
      await this.remove(id)
      throw new DarkroomError('NOT_FOUND', `Upload ${JSON.stringify(id)} has expired.`)
    }
    return upload
  }

  /**
   * Stores chunk `index` from `body`: exactly its length (`chunkSize`, or the rest for the
   * last), refused before a byte is read when `declaredLength` says otherwise, and as soon as
   * the body passes it. `check` sees the whole chunk on disk before it is kept (throwing
   * refuses it). Idempotent: the same chunk sent again replaces the first.
   */
  async writeChunk(
    upload: ChunkedUpload,
    index: number,
    body: ReadableStream<Uint8Array> | null,
    options: { declaredLength: number | null; check?: (path: string) => Promise<void> },
  ): Promise<number> {
    if (!Number.isSafeInteger(index) || index < 0 || index >= upload.chunkCount) {
      void body?.cancel().catch(() => undefined)
      throw DarkroomError.validation([
        {
          property: 'chunk',
          message: `Chunk ${index} does not exist: this upload has chunks 0 to ${upload.chunkCount - 1}.`,
        },
      ])
    }
    if (this.completing.has(upload.id)) throw beingCompleted(upload.id)
    const expected = chunkLength(upload, index)
    const { declaredLength } = options
    if (declaredLength !== null && declaredLength !== expected) {
      void body?.cancel().catch(() => undefined)
      throw wrongLength(upload, index, declaredLength)
    }
    const folder = this.folderOf(upload.id)
    const temporary = join(folder, `chunk-${index}.${randomBytes(6).toString('hex')}.part`)
    try {
      const written = await writeAtMost(body, temporary, expected)
      if (written !== expected) throw wrongLength(upload, index, written)
      await options.check?.(temporary)
      await rename(temporary, join(folder, `chunk-${index}`))
    } catch (error) {
      await rm(temporary, { force: true })
      // The folder went away under the chunk: the upload was completed or expired meanwhile.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(upload.id)
      throw error
    }
    return expected
  }

  /**
   * Assembles the caller's upload into one file and hands its path to `ingest`. `CONFLICT`
   * listing every missing chunk (one violation each) when some have not arrived, or when
   * another `complete` of the same upload is running. See the module note for what is kept.
   */
  async complete<T>(
    ownerId: string,
    id: string,
    ingest: (path: string, upload: ChunkedUpload) => Promise<T>,
  ): Promise<T> {
    const upload = await this.get(ownerId, id)
    if (this.completing.has(id)) throw beingCompleted(id)
    this.completing.add(id)
    try {
      const missing = await this.missingChunks(upload)
      if (missing.length > 0) throw incomplete(upload, missing)
      const path = await this.assemble(upload)
      try {
        const result = await ingest(path, upload)
        await this.remove(id)
        return result
      } catch (error) {
        if (isDarkroomError(error) && FINAL_CODES.has(error.code)) await this.remove(id)
        throw error
      } finally {
        await rm(path, { force: true })
      }
    } finally {
      this.completing.delete(id)
    }
  }

  /** Removes every expired upload (and any folder a crash left without its record). */
  async sweepExpired(): Promise<void> {
    const now = this.options.clock.now().getTime()
    const names = await readdir(this.options.directory).catch(ifMissing([]))
    for (const id of names) {
      if (!UPLOAD_ID.test(id) || this.completing.has(id)) continue
      const upload = await this.read(id).catch(() => null)
      const expiresAt = upload?.expiresAt ?? (await this.orphanExpiry(id))
      if (expiresAt <= now) await this.remove(id)
    }
  }

  /** A folder without a readable record expires `expiryMs` after it was last written. */
  private async orphanExpiry(id: string): Promise<number> {
    const folder = await stat(this.folderOf(id)).catch(ifMissing(null))
    return (folder?.mtimeMs ?? -Infinity) + this.options.expiryMs
  }

  private async sweepIfDue(): Promise<void> {
    const now = this.options.clock.now().getTime()
    if (now < this.nextSweepAt) return
    this.nextSweepAt = now + SWEEP_INTERVAL_MS
    try {
      await this.sweepExpired()
    } catch (error) {
      this.options.logger.warn({ err: error }, 'sweeping expired chunked uploads failed')
    }
  }

  private async read(id: string): Promise<ChunkedUpload | null> {
    const text = await readFile(join(this.folderOf(id), RECORD), 'utf8').catch(ifMissing(null))
    return text === null ? null : (JSON.parse(text) as ChunkedUpload)
  }

  private async missingChunks(upload: ChunkedUpload): Promise<number[]> {
    const present = new Set(await readdir(this.folderOf(upload.id)))
    const missing: number[] = []
    for (let i = 0; i < upload.chunkCount; i++) if (!present.has(`chunk-${i}`)) missing.push(i)
    return missing
  }

  /** The chunks streamed in order into one file beside them; returns its path. */
  private async assemble(upload: ChunkedUpload): Promise<string> {
    const folder = this.folderOf(upload.id)
    const path = join(folder, `assembled-${randomBytes(6).toString('hex')}`)
    const out = await open(path, 'wx', 0o600)
    try {
      for (let i = 0; i < upload.chunkCount; i++) {
        for await (const bytes of createReadStream(join(folder, `chunk-${i}`))) {
          await out.write(bytes as Buffer)
        }
      }
    } catch (error) {
      await out.close()
      await rm(path, { force: true })
      throw error
    }
    await out.close()
    return path
  }

  private async remove(id: string): Promise<void> {
    await rm(this.folderOf(id), { recursive: true, force: true })
  }

  private folderOf(id: string): string {
    return join(this.options.directory, id)
  }
}

/** Bytes of chunk `index`: `chunkSize`, or what is left of the declared size for the last. */
function chunkLength(upload: ChunkedUpload, index: number): number {
  return index < upload.chunkCount - 1
    ? upload.chunkSize
    : upload.size - upload.chunkSize * (upload.chunkCount - 1)
}

/**
 * Writes `body` to a new file at `path`, fsynced, and returns its length; stops reading once it
 * passes `max` bytes (the answer is then `max + 1` or more).
 */
async function writeAtMost(
  body: ReadableStream<Uint8Array> | null,
  path: string,
  max: number,
): Promise<number> {
  const out = await open(path, 'wx', 0o600)
  let written = 0
  try {
    const reader = body?.getReader()
    for (;;) {
      const next = await reader?.read()
      if (!next || next.done) break
      written += next.value.byteLength
      if (written > max) {
        void reader!.cancel().catch(() => undefined)
        return written
      }
      await out.write(next.value)
    }
    await out.sync()
  } finally {
    await out.close()
  }
  return written
}

/** A chunk of the wrong length: 413 when longer than its place allows, 422 when shorter. */
function wrongLength(upload: ChunkedUpload, index: number, length: number): DarkroomError {
  const expected = chunkLength(upload, index)
  const rule =
    `every chunk is chunk_size (${upload.chunkSize} bytes) but the last, ` +
    `which holds the rest of the declared ${upload.size} bytes`
  if (length > expected) {
    return new DarkroomError(
      'PAYLOAD_TOO_LARGE',
      `Chunk ${index} is over its ${expected} bytes (${rule}).`,
    )
  }
  const message = `Chunk ${index} is ${length} bytes; it must be ${expected} bytes (${rule}).`
  return DarkroomError.validation([{ property: 'chunk', message }], 'Invalid chunk.')
}

function incomplete(upload: ChunkedUpload, missing: readonly number[]): DarkroomError {
  return new DarkroomError(
    'CONFLICT',
    `Upload ${upload.id} is missing chunks ${missing.join(', ')} (of 0 to ${upload.chunkCount - 1}); send them, then complete again.`,
    {
      violations: missing.map((i) => ({
        property: `chunks[${i}]`,
        message: `Chunk ${i} has not arrived.`,
        reason: 'missing_chunk',
      })),
    },
  )
}

function beingCompleted(id: string): DarkroomError {
  return new DarkroomError('CONFLICT', `Upload ${id} is being completed.`)
}

function notFound(id: string): DarkroomError {
  return DarkroomError.notFound('Upload', id)
}

/** A `.catch` that turns "no such file" into `fallback` and rethrows anything else. */
function ifMissing<T>(fallback: T): (error: unknown) => T {
  return (error) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback
    throw error
  }
}
