import { createHash, randomUUID } from 'node:crypto'
import { copyFile, mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import {
  DarkroomError,
  type BlobBody,
  type BlobInfo,
  type BlobStore,
  type ByteRange,
} from '@darkroom/core'

/** Blobs are the owners' photos: readable by this process's user only. */
const FILE_MODE = 0o600
const DIR_MODE = 0o700
import {
  assertBlobKey,
  assertBlobPrefix,
  isValidBlobKey,
  resolveByteRange,
} from '@darkroom/core/adapter-kit'

/**
 * Blobs as files under one root folder.
 *
 * - Layout: sharded by the hash of the key's second segment (`photos/<id>/original` is
 *   `<root>/photos/ab/cd/<id>/original`), so a library of millions of photos never puts more
 *   than 256 entries in one folder level. Keys are validated before any path is built.
 * - Crash safety: a body is written to `<root>/.tmp/<uuid>` (same filesystem, and a name no key
 *   can take), fsynced, renamed over the target, and the target's folder (and any folder just
 *   created) fsynced. A reader sees the old blob or the new one, never part of one; a failed
 *   body leaves the old blob (or none) and no temp file. A crash mid-write leaves a temp file,
 *   which `sweepIncomplete` (called by the orphan sweep) removes.
 * - `delete` prunes folders it leaves empty, up to the root; `put` retries if one vanishes
 *   under it.
 * - Deviation: a key cannot be both a blob and a folder of other blobs (`a/b` and `a/b/c`); the
 *   second `put` fails with the filesystem's error. Core's keys never nest that way.
 */
export interface FsBlobStoreOptions {
  /** The folder holding the blobs; created on the first write. */
  root: string
}

const TMP_DIR = '.tmp'
const SHARD_NAME = /^[0-9a-f]{2}$/

/**
 * Where a key lives on disk: `a/b/rest` is `a/<h0h1>/<h2h3>/b/rest` with `h` the sha256 of `b`
 * (the photo id for core's keys), so no folder holds more than 256 entries per level however
 * many photos there are. A one-segment key stays at the root.
 */
function diskSegments(segments: readonly string[]): string[] {
  if (segments.length < 2) return [...segments]
  const hash = createHash('sha256').update(segments[1]!).digest('hex')
  return [segments[0]!, hash.slice(0, 2), hash.slice(2, 4), ...segments.slice(1)]
}
const MAX_RENAME_ATTEMPTS = 5

export class FsBlobStore implements BlobStore {
  readonly root: string
  readonly #tmp: string

  constructor(options: FsBlobStoreOptions) {
    if (!options?.root) throw new Error('FsBlobStore: the `root` option is required.')
    this.root = resolve(options.root)
    this.#tmp = join(this.root, TMP_DIR)
  }

  async put(key: string, body: BlobBody): Promise<{ size: number }> {
    const target = this.#path(key)
    const tmp = await this.#tempFile()
    let handle: FileHandle | undefined
    try {
      handle = await open(tmp, 'wx', FILE_MODE)
      let size = 0
      if (body instanceof Uint8Array) {
        size = await writeAll(handle, body)
      } else {
        for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
          size += await writeAll(handle, typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
        }
      }
      await handle.sync()
      await handle.close()
      handle = undefined
      await this.#commit(tmp, target)
      return { size }
    } catch (error) {
      await handle?.close().catch(() => undefined)
      await rm(tmp, { force: true })
      throw error
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable | null> {
    const path = this.#path(key)
    let handle: FileHandle
    try {
      handle = await open(path, 'r')
    } catch (error) {
      if (isMissing(error)) return null
      throw error
    }
    try {
      const info = await handle.stat()
      if (!info.isFile()) {
        await handle.close()
        return null
      }
      const { start, end } = resolveByteRange(range, info.size)
      if (end <= start) {
        await handle.close()
        return Readable.from([])
      }
      // The stream owns the handle: it closes it at the end, on error or when destroyed.
      return handle.createReadStream({ start, end: end - 1 })
    } catch (error) {
      await handle.close().catch(() => undefined)
      throw error
    }
  }

  async stat(key: string): Promise<BlobInfo | null> {
    const path = this.#path(key)
    try {
      const info = await stat(path)
      return info.isFile() ? { key, size: info.size, lastModified: info.mtime } : null
    } catch (error) {
      if (isMissing(error)) return null
      throw error
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key)
    try {
      await unlink(path)
    } catch (error) {
      // A folder is not a blob: deleting it is deleting a missing blob.
      if (isMissing(error) || isDirectoryError(error)) return
      throw error
    }
    await this.#pruneEmptyFolders(dirname(path))
  }

  async copy(from: string, to: string): Promise<void> {
    const source = this.#path(from, 'from')
    const target = this.#path(to, 'to')
    const tmp = await this.#tempFile()
    try {
      try {
        await copyFile(source, tmp)
      } catch (error) {
        if (isMissing(error) || isDirectoryError(error)) {
          throw new DarkroomError('NOT_FOUND', `Blob ${JSON.stringify(from)} was not found.`, {
            cause: error,
          })
        }
        throw error
      }
      const handle = await open(tmp, 'r+')
      try {
        await handle.sync()
      } finally {
        await handle.close()
      }
      await this.#commit(tmp, target)
    } catch (error) {
      await rm(tmp, { force: true })
      throw error
    }
  }

  async *list(prefix = ''): AsyncIterable<BlobInfo> {
    assertBlobPrefix(prefix)
    // Start at the deepest folder the prefix names whole; filter the rest by string.
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')).split('/') : []
    yield* this.#walk(folder, prefix)
  }

  /**
   * Removes temp files (`.tmp/`) not written to since before `olderThan`: the bodies of `put`s
   * and `copy`s a crash cut off. A write in flight touches its file's mtime with every chunk,
   * so the orphan sweep's grace period keeps it safe.
   */
  async sweepIncomplete(olderThan: Date): Promise<number> {
    let names: string[]
    try {
      names = await readdir(this.#tmp)
    } catch (error) {
      if (isMissing(error)) return 0
      throw error
    }
    let removed = 0
    for (const name of names) {
      const path = join(this.#tmp, name)
      try {
        if ((await stat(path)).mtime.getTime() > olderThan.getTime()) continue
        await unlink(path)
        removed++
      } catch (error) {
        if (!isMissing(error)) throw error
      }
    }
    return removed
  }

  async close(): Promise<void> {}

  /** Walks the key folder `segments` (a key prefix), yielding the blobs under it. */
  async *#walk(segments: string[], prefix: string): AsyncGenerator<BlobInfo> {
    if (segments.length === 1) {
      // Under a top folder come the two shard levels, then the second key segment.
      const top = join(this.root, segments[0]!)
      for (const h1 of await this.#folders(top, SHARD_NAME)) {
        for (const h2 of await this.#folders(join(top, h1), SHARD_NAME)) {
          yield* this.#entries(join(top, h1, h2), segments, prefix)
        }
      }
      return
    }
    const dir = segments.length === 0 ? this.root : join(this.root, ...diskSegments(segments))
    yield* this.#entries(dir, segments, prefix)
  }

  async *#entries(dir: string, segments: string[], prefix: string): AsyncGenerator<BlobInfo> {
    let entries
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (error) {
      if (isMissing(error) || isDirectoryError(error)) return
      throw error
    }
    for (const entry of entries) {
      if (segments.length === 0 && entry.name === TMP_DIR) continue
      const key = [...segments, entry.name].join('/')
      if (entry.isDirectory()) {
        const asFolder = `${key}/`
        if ((asFolder.startsWith(prefix) || prefix.startsWith(asFolder)) && isValidBlobKey(key)) {
          yield* this.#walk([...segments, entry.name], prefix)
        }
      } else if (entry.isFile() && key.startsWith(prefix) && isValidBlobKey(key)) {
        const info = await this.stat(key)
        if (info) yield info
      }
    }
  }

  async #folders(dir: string, pattern: RegExp): Promise<string[]> {
    try {
      const entries = await readdir(dir, { withFileTypes: true })
      return entries.filter((e) => e.isDirectory() && pattern.test(e.name)).map((e) => e.name)
    } catch (error) {
      if (isMissing(error) || isDirectoryError(error)) return []
      throw error
    }
  }

  #path(key: string, property = 'key'): string {
    assertBlobKey(key, property)
    return join(this.root, ...diskSegments(key.split('/')))
  }

  async #tempFile(): Promise<string> {
    await mkdir(this.#tmp, { recursive: true, mode: DIR_MODE })
    return join(this.#tmp, `${randomUUID()}.tmp`)
  }

  /** Moves a synced temp file over `target` and makes the new directory entry durable. */
  async #commit(tmp: string, target: string): Promise<void> {
    const dir = dirname(target)
    for (let attempt = 1; ; attempt++) {
      await this.#ensureFolder(dir)
      try {
        await rename(tmp, target)
        break
      } catch (error) {
        // A concurrent delete pruned the folder between mkdir and rename.
        if (errorCode(error) === 'ENOENT' && attempt < MAX_RENAME_ATTEMPTS) continue
        throw error
      }
    }
    await fsyncFolder(dir)
  }

  async #ensureFolder(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true, mode: DIR_MODE })
    if (first === undefined) return
    // New folders are entries in their parents: sync every parent that gained one.
    const top = dirname(first)
    for (let d = dirname(dir); ; d = dirname(d)) {
      await fsyncFolder(d)
      if (d === top || d === dirname(d)) break
    }
  }

  async #pruneEmptyFolders(dir: string): Promise<void> {
    for (let d = dir; d !== this.root && d.startsWith(this.root); d = dirname(d)) {
      try {
        await rmdir(d)
      } catch {
        return
      }
    }
  }
}

/**
 * @example
 * const blobs = createFsBlobStore({ root: join(dataDir, 'blobs') })
 * await blobs.put('photos/0192.../original', bytes)
 */
export function createFsBlobStore(options: FsBlobStoreOptions): FsBlobStore {
  return new FsBlobStore(options)
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<number> {
  let offset = 0
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset)
    offset += bytesWritten
  }
  return chunk.byteLength
}

async function fsyncFolder(dir: string): Promise<void> {
  // Windows cannot open a folder for syncing; its rename is durable on its own.
  if (process.platform === 'win32') return
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

// ENOTDIR: a segment of the path is a file, so the key cannot exist.
function isMissing(error: unknown): boolean {
  const code = errorCode(error)
  return code === 'ENOENT' || code === 'ENOTDIR'
}

function isDirectoryError(error: unknown): boolean {
  const code = errorCode(error)
  return code === 'EISDIR' || code === 'EPERM'
}
