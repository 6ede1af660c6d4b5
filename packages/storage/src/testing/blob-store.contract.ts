import { randomBytes, randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import type { BlobInfo, BlobStore } from '@darkroom/core'
import { afterEach, beforeEach, describe, expect } from 'vitest'
import { caseRunner, type ContractCapabilities } from './contract-helpers.js'

/**
 * The `BlobStore` contract: every adapter (memory, filesystem, S3) runs it first. Keys live
 * under a random prefix per test, so the suite also runs on a shared bucket and in any order.
 */
export interface BlobStoreContractOptions {
  name: string
  create: () => BlobStore | Promise<BlobStore>
  /** Disposes of the store (the suite does not close it). */
  cleanup?: (store: BlobStore) => void | Promise<void>
  capabilities?: ContractCapabilities
}

export const INVALID_BLOB_KEYS = [
  '',
  '/a',
  'A',
  'photos/A/original',
  'a b',
  'ä',
  '.hidden',
  '-a',
  'a/../b',
  '../a',
  'a/..',
  'a//b',
  'a/./b',
  'a/',
  'a\\b',
  'a:b',
  'a\u0000b',
]

export async function readAllBytes(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array))
  }
  return Buffer.concat(chunks)
}

export function describeBlobStoreContract(options: BlobStoreContractOptions): void {
  const { name, create, cleanup } = options
  const test = caseRunner(options.capabilities)

  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore
    let base: string

    beforeEach(async () => {
      store = await create()
      base = `contract-${randomUUID()}`
    })

    afterEach(async () => {
      await cleanup?.(store)
    })

    const key = (rest = 'blob') => `${base}/${rest}`
    const read = async (k: string, range?: { start: number; end?: number }) => {
      const stream = await store.get(k, range)
      return stream === null ? null : readAllBytes(stream)
    }
    const collect = async (prefix?: string) => {
      const out: BlobInfo[] = []
      for await (const info of store.list(prefix)) out.push(info)
      return out
    }

    test('put then get returns the same bytes; put returns the size', async () => {
      const bytes = randomBytes(1000)
      expect(await store.put(key(), bytes, { contentType: 'image/jpeg' })).toEqual({ size: 1000 })
      const stream = await store.get(key())
      expect(stream).toBeInstanceOf(Readable)
      expect(await readAllBytes(stream!)).toEqual(bytes)
    })

    test('the stored bytes do not change when the caller reuses its buffer', async () => {
      const bytes = Buffer.from('original')
      await store.put(key(), bytes)
      bytes.write('mutated!')
      expect((await read(key()))!.toString()).toBe('original')
    })

    test('get and stat return null for a missing key', async () => {
      expect(await store.get(key('missing'))).toBeNull()
      expect(await store.get(key('missing'), { start: 0, end: 1 })).toBeNull()
      expect(await store.stat(key('missing'))).toBeNull()
      // A "folder" of other blobs is not a blob.
      await store.put(key('dir/child'), Buffer.from('x'))
      expect(await store.stat(key('dir'))).toBeNull()
      expect(await store.get(key('dir'))).toBeNull()
    })

    test('put replaces what was there', async () => {
      await store.put(key(), Buffer.from('first version'))
      await store.put(key(), Buffer.from('second'))
      expect((await read(key()))!.toString()).toBe('second')
      expect((await store.stat(key()))!.size).toBe(6)
    })

    test('stat returns the key, size and modification time', async () => {
      const before = Date.now()
      await store.put(key(), randomBytes(321))
      const info = await store.stat(key())
      expect(info).toMatchObject({ key: key(), size: 321 })
      expect(info!.lastModified).toBeInstanceOf(Date)
      // Filesystems and object stores may round to the second.
      expect(info!.lastModified.getTime()).toBeGreaterThan(before - 2000)
      expect(info!.lastModified.getTime()).toBeLessThan(Date.now() + 2000)
    })

    test('an empty body stores an empty blob', async () => {
      expect(await store.put(key(), new Uint8Array(0))).toEqual({ size: 0 })
      expect((await read(key()))!.length).toBe(0)
      expect((await store.stat(key()))!.size).toBe(0)
      expect((await read(key(), { start: 0 }))!.length).toBe(0)
    })

    test('ranges are inclusive and clamped to the blob', async () => {
      const bytes = Buffer.from('0123456789')
      await store.put(key(), bytes)
      expect((await read(key(), { start: 2, end: 5 }))!.toString()).toBe('2345')
      expect((await read(key(), { start: 0, end: 0 }))!.toString()).toBe('0')
      expect((await read(key(), { start: 7 }))!.toString()).toBe('789')
      expect((await read(key(), { start: 9, end: 9 }))!.toString()).toBe('9')
      expect((await read(key(), { start: 8, end: 100 }))!.toString()).toBe('89')
      expect((await read(key(), { start: 10 }))!.toString()).toBe('')
      expect((await read(key(), { start: 50, end: 60 }))!.toString()).toBe('')
    })

    test('an invalid range throws VALIDATION', async () => {
      await store.put(key(), Buffer.from('0123456789'))
      for (const range of [{ start: -1 }, { start: 5, end: 4 }, { start: 1.5 }]) {
        await expect(store.get(key(), range)).rejects.toMatchObject({ code: 'VALIDATION' })
      }
    })

    test('put accepts a Readable', async () => {
      const parts = [randomBytes(10), randomBytes(70_000), randomBytes(5)]
      const result = await store.put(key(), Readable.from(parts))
      expect(result).toEqual({ size: 70_015 })
      expect(await read(key())).toEqual(Buffer.concat(parts))
    })

    test('put accepts an async iterable of Uint8Array', async () => {
      const parts = Array.from({ length: 40 }, (_, i) => new Uint8Array(randomBytes(1000 + i)))
      async function* body() {
        for (const p of parts) yield p
      }
      const result = await store.put(key(), body())
      const expected = Buffer.concat(parts)
      expect(result).toEqual({ size: expected.length })
      expect(await read(key())).toEqual(expected)
      expect((await read(key(), { start: 1000, end: 2000 }))!).toEqual(
        expected.subarray(1000, 2001),
      )
    })

    test('a body that fails stores nothing and keeps the previous blob', async () => {
      async function* failing() {
        yield new Uint8Array(randomBytes(100))
        throw new Error('source failed')
      }
      await expect(store.put(key('new'), failing())).rejects.toThrow('source failed')
      expect(await store.stat(key('new'))).toBeNull()
      await store.put(key('old'), Buffer.from('kept'))
      const stream = new Readable({ read() {} })
      stream.push(Buffer.from('partial'))
      setTimeout(() => stream.destroy(new Error('stream failed')), 5)
      await expect(store.put(key('old'), stream)).rejects.toThrow('stream failed')
      expect((await read(key('old')))!.toString()).toBe('kept')
      expect(await collect(base)).toHaveLength(1)
    })

    test('delete removes the blob and is idempotent', async () => {
      await store.put(key(), Buffer.from('x'))
      await store.put(key('sibling'), Buffer.from('y'))
      await store.delete(key())
      expect(await store.get(key())).toBeNull()
      expect(await store.stat(key())).toBeNull()
      await store.delete(key())
      await store.delete(key('never-existed'))
      expect((await read(key('sibling')))!.toString()).toBe('y')
    })

    test('copy duplicates the bytes and keeps the source', async () => {
      const bytes = randomBytes(5000)
      await store.put(key('from'), bytes)
      await store.put(key('to/nested'), Buffer.from('replaced'))
      await store.copy(key('from'), key('to/nested'))
      await store.copy(key('from'), key('fresh'))
      expect(await read(key('to/nested'))).toEqual(bytes)
      expect(await read(key('fresh'))).toEqual(bytes)
      expect(await read(key('from'))).toEqual(bytes)
      await store.put(key('from'), Buffer.from('changed'))
      expect(await read(key('fresh'))).toEqual(bytes)
    })

    test('copy throws NOT_FOUND when the source is missing', async () => {
      await expect(store.copy(key('missing'), key('to'))).rejects.toMatchObject({
        code: 'NOT_FOUND',
      })
      expect(await store.stat(key('to'))).toBeNull()
    })

    test('list returns every blob under a prefix, with its info', async () => {
      const keys = ['photos/1/original', 'photos/1/small.webp', 'photos/2/original', 'other']
      for (const [i, k] of keys.entries()) await store.put(key(k), randomBytes(i + 1))
      const all = await collect(`${base}/`)
      expect(all.map((i) => i.key).sort()).toEqual(keys.map((k) => key(k)).sort())
      const one = all.find((i) => i.key === key('photos/1/small.webp'))!
      expect(one.size).toBe(2)
      expect(one.lastModified).toBeInstanceOf(Date)
      const photos1 = await collect(key('photos/1/'))
      expect(photos1.map((i) => i.key).sort()).toEqual([
        key('photos/1/original'),
        key('photos/1/small.webp'),
      ])
      // A prefix may end inside a segment.
      const partial = await collect(key('photos/1/sm'))
      expect(partial.map((i) => i.key)).toEqual([key('photos/1/small.webp')])
      expect((await collect(key('ph'))).length).toBe(3)
      expect(await collect(key('nothing/'))).toEqual([])
      const everything = (await collect()).map((i) => i.key)
      expect(everything).toEqual(expect.arrayContaining(keys.map((k) => key(k))))
    })

    test('list does not show deleted blobs', async () => {
      await store.put(key('a/x'), Buffer.from('1'))
      await store.put(key('a/y'), Buffer.from('2'))
      await store.delete(key('a/x'))
      expect((await collect(base)).map((i) => i.key)).toEqual([key('a/y')])
      await store.delete(key('a/y'))
      expect(await collect(base)).toEqual([])
    })

    test('invalid keys are refused with VALIDATION', async () => {
      for (const bad of INVALID_BLOB_KEYS) {
        const refused = { code: 'VALIDATION' }
        await expect(store.put(bad, Buffer.from('x')), bad).rejects.toMatchObject(refused)
        await expect(store.get(bad), bad).rejects.toMatchObject(refused)
        await expect(store.stat(bad), bad).rejects.toMatchObject(refused)
        await expect(store.delete(bad), bad).rejects.toMatchObject(refused)
        await expect(store.copy(bad, key()), bad).rejects.toMatchObject(refused)
        await store.put(key('src'), Buffer.from('x'))
        await expect(store.copy(key('src'), bad), bad).rejects.toMatchObject(refused)
      }
    })

    test('invalid list prefixes are refused with VALIDATION', async () => {
      for (const bad of ['../', 'A', '/x', 'a//', 'a/../b', 'x y']) {
        await expect(collect(bad), bad).rejects.toMatchObject({ code: 'VALIDATION' })
      }
    })

    test('concurrent puts to one key leave one whole body', async () => {
      const bodies = Array.from({ length: 5 }, () => randomBytes(50_000))
      await Promise.all(bodies.map((b) => store.put(key(), b)))
      const got = await read(key())
      expect(bodies.some((b) => b.equals(got!))).toBe(true)
    })

    test('close is idempotent', async () => {
      const fresh = await create()
      await fresh.close?.()
      await fresh.close?.()
      await cleanup?.(fresh)
    })
  })
}
