import { randomBytes } from 'node:crypto'
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Transformed images on disk: `<root>/<photo id>/<key hash>.<ext>`, one folder per photo so a
 * deleted photo's renditions go with one `rm`. Written to `<root>/.tmp` and renamed, so a
 * reader never sees half a file. Not fsynced: a lost entry is only recomputed.
 */
export class DiskCache {
  constructor(readonly root: string) {}

  #path(photoId: string, hash: string, ext: string): string {
    return join(this.root, photoId, `${hash}.${ext}`)
  }

  /** The entry's path and size, or null. */
  async get(
    photoId: string,
    hash: string,
    ext: string,
  ): Promise<{ path: string; size: number } | null> {
    const path = this.#path(photoId, hash, ext)
    try {
      const info = await stat(path)
      return info.isFile() ? { path, size: info.size } : null
    } catch {
      return null
    }
  }

  async put(photoId: string, hash: string, ext: string, data: Uint8Array): Promise<void> {
    const tmpDir = join(this.root, '.tmp')
    const tmp = join(tmpDir, randomBytes(12).toString('hex'))
    await mkdir(tmpDir, { recursive: true })
    await mkdir(join(this.root, photoId), { recursive: true })
    await writeFile(tmp, data)
    try {
      await rename(tmp, this.#path(photoId, hash, ext))
    } catch (error) {
      await rm(tmp, { force: true })
      throw error
    }
  }

  /** Forgets every rendition of a photo. */
  async evict(photoId: string): Promise<void> {
    if (!/^[A-Za-z0-9_-]+$/.test(photoId)) return
    await rm(join(this.root, photoId), { recursive: true, force: true })
  }
}
