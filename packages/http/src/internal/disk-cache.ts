import { randomBytes } from 'node:crypto'
import { close, fstat, open, read } from 'node:fs'
import { mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'

const openFile = promisify(open)
const statFile = promisify(fstat)
const readInto = promisify(read)
const closeFile = promisify(close)

/**
 * Entries up to this size are read whole when looked up (one open, fstat, read and close, no
 * stream: the cheapest way to answer a hit); larger ones are streamed from their path.
 */
export const MAX_INLINE_BYTES = 1024 * 1024

/** A cached rendition: its bytes when small, else its path to stream from. */
export type CacheEntry = { size: number } & ({ data: Buffer } | { path: string })

export interface DiskCacheOptions {
  /** The most the entries may take on disk together; past it the least recently used go. */
  maxBytes?: number
  /** Now, in ms (tests). */
  now?: () => number
}

/** A hit writes its file's times (its recency, for the next start) at most this often. */
const TOUCH_EVERY_MS = 60_000

/**
 * Transformed images on disk: `<root>/<photo id>/<key hash>.<ext>`, one folder per photo so a
 * deleted photo's renditions go with one `rm`. Written to `<root>/.tmp` and renamed, so a
 * reader never sees half a file. Not fsynced: a lost entry is only recomputed.
 *
 * An entry is found from the moment `put` is called: until its file is in place, `get` answers
 * from the bytes being written, so a miss is answered without waiting for the write's file
 * operations, and a request right after it is still a hit.
 *
 * The entries keep to a byte budget (`maxBytes`): an index in memory holds each file's size in
 * the order of its last use (a hit moves it to the end), and a write past the budget removes
 * the least recently used files first. The index is read back from the folder at start (sizes,
 * and the later of each file's access and modification times, which a hit refreshes at most
 * once a minute), so a restart keeps the budget and roughly the order. An entry larger than the
 * whole budget is not kept. Each process counts only its own folder.
 */
export class DiskCache {
  /** Entries whose file is being written: their bytes, and the write. */
  readonly #writing = new Map<string, { data: Buffer; written: Promise<void> }>()
  /** Files on disk by path, least recently used first. */
  #index = new Map<string, { size: number; touchedAt: number }>()
  #bytes = 0
  readonly #maxBytes: number
  readonly #now: () => number
  /** The start-up scan of the folder. */
  readonly ready: Promise<void>

  constructor(
    readonly root: string,
    options: DiskCacheOptions = {},
  ) {
    this.#maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY
    this.#now = options.now ?? Date.now
    this.ready = this.#scan().catch(() => undefined)
  }

  /** Bytes the entries take on disk, as far as this process knows. */
  get bytes(): number {
    return this.#bytes
  }

  #path(photoId: string, hash: string, ext: string): string {
    return join(this.root, photoId, `${hash}.${ext}`)
  }

  /** The entry (see `MAX_INLINE_BYTES`), or null. */
  async get(photoId: string, hash: string, ext: string): Promise<CacheEntry | null> {
    const path = this.#path(photoId, hash, ext)
    const writing = this.#writing.get(path)
    if (writing) return { size: writing.data.length, data: writing.data }
    let fd: number
    try {
      fd = await openFile(path, 'r')
    } catch {
      return null
    }
    try {
      const info = await statFile(fd)
      if (!info.isFile()) return null
      this.#touch(path, info.size)
      if (info.size > MAX_INLINE_BYTES) return { size: info.size, path }
      const data = Buffer.allocUnsafe(info.size)
      let filled = 0
      while (filled < data.length) {
        const { bytesRead } = await readInto(fd, data, filled, data.length - filled, filled)
        if (bytesRead === 0) break
        filled += bytesRead
      }
      // Never announce more bytes than can be sent.
      return filled === data.length ? { size: info.size, data } : null
    } finally {
      await closeFile(fd)
    }
  }

  async put(photoId: string, hash: string, ext: string, data: Buffer): Promise<void> {
    if (data.length > this.#maxBytes) return
    const path = this.#path(photoId, hash, ext)
    const entry = { data, written: this.#write(path, data) }
    this.#writing.set(path, entry)
    try {
      await entry.written
      // Not evicted while it was written: it counts from now on.
      if (this.#writing.get(path) === entry) this.#add(path, data.length, this.#now())
    } finally {
      if (this.#writing.get(path) === entry) this.#writing.delete(path)
    }
    await this.#trim()
  }

  /** A hit: the entry becomes the most recently used (and its file's times say so, now and then). */
  #touch(path: string, size: number): void {
    const known = this.#index.get(path)
    const now = this.#now()
    if (!known) {
      // Found on disk before the start-up scan reached it.
      this.#add(path, size, now)
      return
    }
    this.#index.delete(path)
    this.#index.set(path, known)
    if (now - known.touchedAt < TOUCH_EVERY_MS) return
    known.touchedAt = now
    const seconds = now / 1000
    void utimes(path, seconds, seconds).catch(() => undefined)
  }

  #add(path: string, size: number, touchedAt: number): void {
    const known = this.#index.get(path)
    if (known) {
      this.#bytes -= known.size
      this.#index.delete(path)
    }
    this.#index.set(path, { size, touchedAt })
    this.#bytes += size
  }

  /** Removes the least recently used files until the entries fit the budget. */
  async #trim(): Promise<void> {
    const removals: Promise<void>[] = []
    for (const [path, { size }] of this.#index) {
      if (this.#bytes <= this.#maxBytes) break
      this.#index.delete(path)
      this.#bytes -= size
      removals.push(rm(path, { force: true }).catch(() => undefined))
    }
    await Promise.all(removals)
  }

  /**
   * Reads the folder back into the index, oldest use first; entries written meanwhile stay the
   * most recent. Temporary files older than a minute are a stopped write's and are removed.
   */
  async #scan(): Promise<void> {
    const found: { path: string; size: number; usedAt: number }[] = []
    const folders = await readdir(this.root, { withFileTypes: true }).catch(() => [])
    for (const folder of folders) {
      if (!folder.isDirectory()) continue
      const dir = join(this.root, folder.name)
      const temporary = folder.name === '.tmp'
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const path = join(dir, name)
        const info = await stat(path).catch(() => null)
        if (!info?.isFile()) continue
        const usedAt = Math.max(info.atimeMs, info.mtimeMs)
        if (temporary) {
          if (usedAt < this.#now() - 60_000) await rm(path, { force: true })
          continue
        }
        found.push({ path, size: info.size, usedAt })
      }
    }
    found.sort((a, b) => a.usedAt - b.usedAt)
    const meanwhile = this.#index
    this.#index = new Map()
    this.#bytes = 0
    for (const f of found) if (!meanwhile.has(f.path)) this.#add(f.path, f.size, f.usedAt)
    for (const [path, entry] of meanwhile) this.#add(path, entry.size, entry.touchedAt)
    await this.#trim()
  }

  async #write(path: string, data: Buffer): Promise<void> {
    const tmpDir = join(this.root, '.tmp')
    const tmp = join(tmpDir, randomBytes(12).toString('hex'))
    try {
      // The folders exist but for the first write (of the cache, of a photo): create them only
      // when missing, which saves two file operations per write.
      await writeFile(tmp, data).catch(async (error: unknown) => {
        if (!isMissing(error)) throw error
        await mkdir(tmpDir, { recursive: true })
        await writeFile(tmp, data)
      })
      await rename(tmp, path).catch(async (error: unknown) => {
        if (!isMissing(error)) throw error
        await mkdir(dirname(path), { recursive: true })
        await rename(tmp, path)
      })
    } catch (error) {
      await rm(tmp, { force: true })
      throw error
    }
  }

  /** Forgets every rendition of a photo, after the writes under way for it (else they recreate it). */
  async evict(photoId: string): Promise<void> {
    if (!/^[A-Za-z0-9_-]+$/.test(photoId)) return
    const folder = join(this.root, photoId)
    const writes: Promise<void>[] = []
    for (const [path, entry] of this.#writing) {
      if (dirname(path) !== folder) continue
      this.#writing.delete(path)
      writes.push(entry.written.catch(() => undefined))
    }
    await Promise.all(writes)
    for (const [path, { size }] of this.#index) {
      if (dirname(path) !== folder) continue
      this.#index.delete(path)
      this.#bytes -= size
    }
    await rm(folder, { recursive: true, force: true })
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT'
}
