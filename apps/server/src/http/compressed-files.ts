import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { brotliCompress, constants, gzip } from 'node:zlib'

/**
 * Brotli and gzip copies of the gallery's text files, made once per file version (path, size,
 * mtime) on the first request that wants them and kept in memory, so no request pays for
 * compression twice. Brotli at its best quality (11) takes about a second for a 300 KB bundle:
 * while it is being made, a client that also takes gzip gets gzip (level 9, a few ms) rather
 * than waiting. Compression runs on libuv's thread pool, never on the event loop.
 *
 * Bounded: only files of `minBytes`..`maxFileBytes` are compressed, a copy that is not smaller
 * than the original is not kept (the file is then served as it is), and the copies together
 * stay under `maxTotalBytes` (least recently used dropped first).
 */

export type Encoding = 'br' | 'gzip'

export interface CompressedFilesOptions {
  /** Smaller files are served as they are (headers would eat the gain). Default 1 KiB. */
  minBytes?: number
  /** Larger files are served as they are. Default 8 MiB. */
  maxFileBytes?: number
  /** All copies together. Default 64 MiB. */
  maxTotalBytes?: number
}

export interface FileVersion {
  path: string
  size: number
  mtimeMs: number
}

const brotli = promisify(brotliCompress)
const gzipAsync = promisify(gzip)
/** Above this, brotli's quality 11 costs seconds (source maps): quality 9 instead. */
const BEST_BROTLI_MAX_BYTES = 1024 * 1024

interface Entry {
  version: string
  /** null: not worth it (not smaller than the original). */
  data: Promise<Buffer | null>
  settled: boolean
  bytes: number
}

export class CompressedFiles {
  readonly #minBytes: number
  readonly #maxFileBytes: number
  readonly #maxTotalBytes: number
  /** By `path\0encoding`, least recently used first. */
  readonly #entries = new Map<string, Entry>()
  #totalBytes = 0

  constructor(options: CompressedFilesOptions = {}) {
    this.#minBytes = options.minBytes ?? 1024
    this.#maxFileBytes = options.maxFileBytes ?? 8 * 1024 * 1024
    this.#maxTotalBytes = options.maxTotalBytes ?? 64 * 1024 * 1024
  }

  /** Whether a file of this size gets compressed copies at all (then it varies by encoding). */
  isCandidate(file: FileVersion): boolean {
    return file.size >= this.#minBytes && file.size <= this.#maxFileBytes
  }

  /**
   * The best copy among `accepted` (in order of preference): a ready one first, else the
   * first one, made now. A copy still being made is skipped when a later one is ready or
   * quick to make (gzip). Null: serve the file as it is.
   */
  async get(
    file: FileVersion,
    accepted: readonly Encoding[],
  ): Promise<{ encoding: Encoding; data: Buffer } | null> {
    if (!this.isCandidate(file) || accepted.length === 0) return null
    for (const [i, encoding] of accepted.entries()) {
      const entry = this.#entry(file, encoding)
      const last = i === accepted.length - 1
      // Brotli still in the making, and gzip will do: do not wait for it.
      if (!entry.settled && !last && encoding === 'br') continue
      const data = await entry.data
      if (data) return { encoding, data }
    }
    return null
  }

  #entry(file: FileVersion, encoding: Encoding): Entry {
    const key = `${file.path}\0${encoding}`
    const version = `${file.size}:${file.mtimeMs}`
    const found = this.#entries.get(key)
    if (found && found.version === version) {
      // Most recently used goes last.
      this.#entries.delete(key)
      this.#entries.set(key, found)
      return found
    }
    if (found) this.#drop(key, found)
    const entry: Entry = { version, data: Promise.resolve(null), settled: false, bytes: 0 }
    entry.data = this.#compress(file, encoding).then(
      (data) => {
        entry.settled = true
        if (this.#entries.get(key) !== entry) return data
        if (!data) return null
        entry.bytes = data.byteLength
        this.#totalBytes += entry.bytes
        this.#evict()
        return data
      },
      () => {
        // Unreadable now (removed, replaced): nothing kept, the request serves what it can.
        entry.settled = true
        if (this.#entries.get(key) === entry) this.#entries.delete(key)
        return null
      },
    )
    this.#entries.set(key, entry)
    return entry
  }

  async #compress(file: FileVersion, encoding: Encoding): Promise<Buffer | null> {
    const original = await readFile(file.path)
    // Changed since it was stat'ed: the next request sees the new version.
    if (original.byteLength !== file.size) return null
    const data =
      encoding === 'br'
        ? await brotli(original, {
            params: {
              [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
              [constants.BROTLI_PARAM_QUALITY]: file.size <= BEST_BROTLI_MAX_BYTES ? 11 : 9,
              [constants.BROTLI_PARAM_SIZE_HINT]: file.size,
            },
          })
        : await gzipAsync(original, { level: 9 })
    return data.byteLength < original.byteLength ? data : null
  }

  #drop(key: string, entry: Entry): void {
    this.#entries.delete(key)
    this.#totalBytes -= entry.bytes
  }

  #evict(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#totalBytes <= this.#maxTotalBytes) return
      if (entry.settled) this.#drop(key, entry)
    }
  }
}

/**
 * The encodings a request's `Accept-Encoding` allows among br and gzip, best first: by q-value,
 * then br before gzip. `*` stands for any coding not named; `q=0` refuses one.
 */
export function acceptedEncodings(header: string | undefined): Encoding[] {
  if (!header) return []
  const q = new Map<string, number>()
  for (const part of header.toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';')
    if (!name) continue
    let value = 1
    for (const param of params) {
      const match = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(param)
      if (match) value = Number(match[1])
    }
    if (Number.isFinite(value)) q.set(name.trim(), value)
  }
  const weight = (encoding: Encoding) => q.get(encoding) ?? q.get('*') ?? 0
  return (['br', 'gzip'] as const)
    .filter((encoding) => weight(encoding) > 0)
    .sort((a, b) => weight(b) - weight(a))
}
