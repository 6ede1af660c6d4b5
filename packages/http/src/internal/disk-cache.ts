import { randomBytes } from 'node:crypto'
import { close, fstat, open, read } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
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

/**
 * Transformed images on disk: `<root>/<photo id>/<key hash>.<ext>`, one folder per photo so a
 * deleted photo's renditions go with one `rm`. Written to `<root>/.tmp` and renamed, so a
 * reader never sees half a file. Not fsynced: a lost entry is only recomputed.
 *
 * An entry is found from the moment `put` is called: until its file is in place, `get` answers
 * from the bytes being written, so a miss is answered without waiting for the write's file
 * operations, and a request right after it is still a hit.
 */
export class DiskCache {
  /** Entries whose file is being written: their bytes, and the write. */
  readonly #writing = new Map<string, { data: Buffer; written: Promise<void> }>()

  constructor(readonly root: string) {}

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
    const path = this.#path(photoId, hash, ext)
    const entry = { data, written: this.#write(path, data) }
    this.#writing.set(path, entry)
    try {
      await entry.written
    } finally {
      if (this.#writing.get(path) === entry) this.#writing.delete(path)
    }
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
    await rm(folder, { recursive: true, force: true })
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT'
}
