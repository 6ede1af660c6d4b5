import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, describe, expect, it } from 'vitest'
import { describeBlobStoreContract } from '../testing/blob-store.contract.js'
import { createFsBlobStore, FsBlobStore } from './fs-blob-store.js'

const dir = mkdtempSync(join(tmpdir(), 'darkroom-fs-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
const freshRoot = () => join(dir, `root-${++n}`)

describeBlobStoreContract({
  name: 'FsBlobStore',
  create: () => createFsBlobStore({ root: freshRoot() }),
  cleanup: async (store) => {
    await store.close?.()
    rmSync((store as FsBlobStore).root, { recursive: true, force: true })
  },
})

describe('FsBlobStore on disk', () => {
  const tmpEntries = (root: string) =>
    existsSync(join(root, '.tmp')) ? readdirSync(join(root, '.tmp')) : []

  it('shards keys by the hash of their second segment', async () => {
    const root = freshRoot()
    const store = createFsBlobStore({ root })
    await store.put('photos/0192abcd/original', Buffer.from('bytes'))
    const h = shard('0192abcd')
    expect(readFileSync(join(root, 'photos', ...h, '0192abcd', 'original'), 'utf8')).toBe('bytes')
    await store.put('top', Buffer.from('flat'))
    expect(readFileSync(join(root, 'top'), 'utf8')).toBe('flat')
    const keys: string[] = []
    for await (const b of store.list()) keys.push(b.key)
    expect(keys.sort()).toEqual(['photos/0192abcd/original', 'top'])
  })

  it('leaves no temp file after a put, a copy or a failed put', async () => {
    const root = freshRoot()
    const store = createFsBlobStore({ root })
    await store.put('a/b', Buffer.from('x'))
    await store.put('a/c', Readable.from([Buffer.from('y')]))
    await store.copy('a/b', 'd/e')
    await expect(store.copy('missing', 'd/f')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    async function* failing() {
      yield new Uint8Array(10)
      throw new Error('boom')
    }
    await expect(store.put('a/failed', failing())).rejects.toThrow('boom')
    expect(tmpEntries(root)).toEqual([])
    expect(existsSync(join(root, 'a', 'failed'))).toBe(false)
  })

  it('list skips the temp folder, stray files with invalid names, and symlinks', async () => {
    const root = freshRoot()
    const store = createFsBlobStore({ root })
    await store.put('k/v', Buffer.from('x'))
    await mkdir(join(root, '.tmp'), { recursive: true })
    writeFileSync(join(root, '.tmp', 'leftover.tmp'), 'partial')
    writeFileSync(join(root, 'k', 'Stray File'), 'x')
    const keys: string[] = []
    for await (const info of store.list()) keys.push(info.key)
    expect(keys).toEqual(['k/v'])
  })

  it('delete prunes the folders it empties, not the root', async () => {
    const root = freshRoot()
    const store = createFsBlobStore({ root })
    await store.put('photos/p1/original', Buffer.from('x'))
    await store.put('photos/p2/original', Buffer.from('x'))
    await store.delete('photos/p1/original')
    expect(existsSync(join(root, 'photos', ...shard('p1')))).toBe(false)
    expect(existsSync(join(root, 'photos', ...shard('p2'), 'p2', 'original'))).toBe(true)
    await store.delete('photos/p2/original')
    expect(existsSync(join(root, 'photos'))).toBe(false)
    expect(existsSync(root)).toBe(true)
    // And a put after the prune recreates them.
    await store.put('photos/p1/original', Buffer.from('again'))
    expect(readFileSync(join(root, 'photos', ...shard('p1'), 'p1', 'original'), 'utf8')).toBe(
      'again',
    )
  })

  it('a reader holding a stream keeps the old bytes when the blob is replaced', async () => {
    const root = freshRoot()
    const store = createFsBlobStore({ root })
    const old = Buffer.alloc(200_000, 1)
    await store.put('k', old)
    const stream = (await store.get('k'))!
    await store.put('k', Buffer.alloc(10, 2))
    const chunks: Buffer[] = []
    for await (const c of stream) chunks.push(c as Buffer)
    expect(Buffer.concat(chunks).equals(old)).toBe(true)
  })

  it('refuses a missing root, naming it', () => {
    expect(() => new FsBlobStore({ root: '' })).toThrow('the `root` option is required')
  })
})

function shard(segment: string): [string, string] {
  const hash = createHash('sha256').update(segment).digest('hex')
  return [hash.slice(0, 2), hash.slice(2, 4)]
}
