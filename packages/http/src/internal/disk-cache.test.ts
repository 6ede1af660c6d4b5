import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DiskCache, MAX_INLINE_BYTES } from './disk-cache.js'

/**
 * The image cache on disk: small entries read whole, large ones by path, writes seen at once; a
 * byte budget kept by removing the least recently used, across restarts.
 */

let root: string
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'darkroom-disk-cache-'))
})
afterEach(() => rm(root, { recursive: true, force: true }))

describe('DiskCache', () => {
  it('finds an entry while it is written, then reads a small one whole from disk', async () => {
    const cache = new DiskCache(join(root, 'cache'))
    expect(await cache.get('p1', 'abc', 'jpg')).toBeNull()
    const data = Buffer.from('small rendition')
    const writing = cache.put('p1', 'abc', 'jpg', data)
    expect(await cache.get('p1', 'abc', 'jpg')).toEqual({ size: data.length, data })
    await writing
    const read = await cache.get('p1', 'abc', 'jpg')
    expect(read && 'data' in read && read.data.equals(data)).toBe(true)
    expect(await readdir(join(root, 'cache', '.tmp'))).toEqual([])
  })

  it('gives the path of an entry too large to read whole', async () => {
    const cache = new DiskCache(root)
    const data = Buffer.alloc(MAX_INLINE_BYTES + 1, 7)
    await cache.put('p2', 'big', 'png', data)
    const entry = await cache.get('p2', 'big', 'png')
    expect(entry).toEqual({ size: data.length, path: join(root, 'p2', 'big.png') })
    expect((await readFile(join(root, 'p2', 'big.png'))).equals(data)).toBe(true)
  })

  it('forgets every rendition of an evicted photo, written or being written', async () => {
    const cache = new DiskCache(root)
    await cache.put('p3', 'a', 'jpg', Buffer.from('a'))
    const writing = cache.put('p3', 'b', 'jpg', Buffer.from('b'))
    await cache.evict('p3')
    expect(await cache.get('p3', 'a', 'jpg')).toBeNull()
    expect(await cache.get('p3', 'b', 'jpg')).toBeNull()
    await writing
  })

  it('keeps to its byte budget, removing the least recently used; a hit refreshes an entry', async () => {
    const cache = new DiskCache(root, { maxBytes: 300 })
    await cache.ready
    for (const name of ['a', 'b', 'c']) await cache.put('p4', name, 'jpg', Buffer.alloc(100, 1))
    expect(cache.bytes).toBe(300)
    expect(await cache.get('p4', 'a', 'jpg')).not.toBeNull() // a is now the most recent
    await cache.put('p5', 'd', 'jpg', Buffer.alloc(100, 2))
    expect(await cache.get('p4', 'b', 'jpg')).toBeNull()
    for (const [photo, name] of [
      ['p4', 'a'],
      ['p4', 'c'],
      ['p5', 'd'],
    ] as const) {
      expect(await cache.get(photo, name, 'jpg'), name).not.toBeNull()
    }
    expect(cache.bytes).toBe(300)
    expect(await bytesOnDisk(root)).toBe(300)
    // One larger than the whole budget is not kept, and pushes nothing out.
    await cache.put('p5', 'huge', 'jpg', Buffer.alloc(301))
    expect(await cache.get('p5', 'huge', 'jpg')).toBeNull()
    expect(await bytesOnDisk(root)).toBe(300)
  })

  it('reads the folder back at start: the budget holds, the oldest used go first', async () => {
    const write = async (photo: string, name: string, size: number, ageS: number) => {
      await mkdir(join(root, photo), { recursive: true })
      const path = join(root, photo, `${name}.jpg`)
      await writeFile(path, Buffer.alloc(size))
      const t = Date.now() / 1000 - ageS
      await utimes(path, t, t)
    }
    await write('p6', 'old', 100, 300)
    await write('p6', 'older', 100, 400)
    await write('p7', 'new', 100, 10)
    await mkdir(join(root, '.tmp'))
    await writeFile(join(root, '.tmp', 'stale'), 'x')
    await utimes(join(root, '.tmp', 'stale'), 1, 1)
    const cache = new DiskCache(root, { maxBytes: 250 })
    await cache.ready
    expect(cache.bytes).toBe(200)
    expect(await cache.get('p6', 'older', 'jpg')).toBeNull()
    expect(await cache.get('p6', 'old', 'jpg')).not.toBeNull()
    expect(await cache.get('p7', 'new', 'jpg')).not.toBeNull()
    expect(await readdir(join(root, '.tmp'))).toEqual([])
    // What it writes next is counted with what it found.
    await cache.put('p7', 'next', 'jpg', Buffer.alloc(100))
    expect(await bytesOnDisk(root)).toBeLessThanOrEqual(250)
  })
})

async function bytesOnDisk(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    total += entry.isDirectory() ? await bytesOnDisk(path) : (await stat(path)).size
  }
  return total
}
