import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DiskCache, MAX_INLINE_BYTES } from './disk-cache.js'

/** The image cache on disk: small entries read whole, large ones by path, writes seen at once. */

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
})
