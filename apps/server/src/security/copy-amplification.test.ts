import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { TRPCClientError } from '@trpc/client'
import { asPhoto } from '@darkroom/core/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  makeNoiseJpeg,
  sha256,
  startServer,
  uploadForm,
  type TestServer,
} from '../testing/harness.js'

/**
 * `photos.move({ copy: true })` as a storage amplifier: one 9 MB upload copied 40 times. A copy
 * shares its source's blobs (no byte is written), still counts its bytes against the owner's
 * quota and takes a token of the upload rate limit; deleting copies and originals in any order
 * never removes a blob a remaining photo still uses, and the last one out frees it.
 */

const RATE = 60
const COPIES = 40
let server: TestServer
let alice: string
let admin: string
let photo: { id: string; size: number; checksum: string }
let original: Buffer

beforeAll(async () => {
  server = await startServer({ env: { RATE_LIMIT_UPLOADS_PER_MINUTE: String(RATE) } })
  alice = await server.key('alice')
  admin = await server.key('root', ['admin'])
  original = await makeNoiseJpeg(3200, 3200, 808)
  const { uploaded } = await server
    .client(alice)
    .photos.upload.mutate(uploadForm([{ name: 'big.jpg', data: original }]))
  photo = asPhoto(uploaded[0]!)
}, 60_000)
afterAll(() => server?.close())

/** Bytes of every file under `dir`. */
async function folderBytes(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size
  }
  return total
}

async function fetchOriginal(id: string): Promise<{ status: number; sha: string }> {
  const res = await fetch(`${server.url}/photos/${id}/original.jpg`, {
    headers: { authorization: `Bearer ${alice}` },
  })
  const body = Buffer.from(await res.arrayBuffer())
  return { status: res.status, sha: sha256(body) }
}

let copies: string[] = []

it('40 copies of a 9 MB photo write no blob bytes, yet count against the quota', async () => {
  expect(original.byteLength).toBeGreaterThan(8.5 * 1024 * 1024)
  const blobsDir = join(server.dataDir, 'blobs')
  const blobsBefore = await folderBytes(blobsDir)
  const dataBefore = await folderBytes(server.dataDir)
  const client = server.client(alice)
  // Into 40 albums: an album holds one photo of given bytes.
  const albums = await Promise.all(
    Array.from({ length: COPIES }, (_, i) => client.albums.create.mutate({ title: `a${i}` })),
  )
  const last = await client.albums.create.mutate({ title: 'copy of a copy' })
  for (const album of albums) {
    const copy = await client.photos.move.mutate({ id: photo.id, albumId: album.id, copy: true })
    copies.push(copy.id)
  }
  // A copy of a copy shares the same blobs.
  const second = await client.photos.move.mutate({ id: copies[2]!, albumId: last.id, copy: true })
  expect(asPhoto(second).checksum).toBe(photo.checksum)
  copies.push(second.id)
  const blobGrowth = (await folderBytes(blobsDir)) - blobsBefore
  const dataGrowth = (await folderBytes(server.dataDir)) - dataBefore
  console.info(
    `${COPIES + 1} copies of ${(photo.size / 2 ** 20).toFixed(1)} MB: blobs +${(blobGrowth / 2 ** 20).toFixed(2)} MB, data folder +${(dataGrowth / 2 ** 20).toFixed(2)} MB`,
  )
  // Copying would have written 41 x 9 MB; sharing writes no blob at all.
  expect(blobGrowth).toBe(0)
  expect(dataGrowth).toBeLessThan(photo.size)
  // Each copy still counts its bytes against the owner's storage.
  const me = await client.owners.me.query()
  expect(me.usedBytes).toBe(photo.size * (COPIES + 2))
  for (const id of copies.slice(0, 3))
    expect(await fetchOriginal(id)).toEqual({ status: 200, sha: photo.checksum })
}, 60_000)

it('a copy past the owner quota is refused, naming the quota', async () => {
  await server.client(admin).owners.setQuota.mutate({
    ownerId: 'alice',
    quotaBytes: photo.size * (COPIES + 3),
  })
  const client = server.client(alice)
  const [one, two] = await Promise.all([
    client.albums.create.mutate({ title: 'one more' }),
    client.albums.create.mutate({ title: 'one too many' }),
  ])
  copies.push((await client.photos.move.mutate({ id: photo.id, albumId: one.id, copy: true })).id)
  const refused = await client.photos.move
    .mutate({ id: photo.id, albumId: two.id, copy: true })
    .catch((e: unknown) => e)
  expect(refused).toBeInstanceOf(TRPCClientError)
  expect((refused as TRPCClientError<never>).data).toMatchObject({
    darkroom: { code: 'CAP_EXCEEDED' },
  })
  expect((refused as Error).message).toMatch(/storage quota of owner alice/)
  await server.client(admin).owners.setQuota.mutate({ ownerId: 'alice', quotaBytes: null })
})

it('copies take tokens of the upload rate limit: 429 past it', async () => {
  // The upload and the copies so far took COPIES + 4 of RATE tokens (the refused copy too).
  const client = server.client(alice)
  const outcomes: number[] = []
  for (let i = 0; i < RATE; i++) {
    const album = await client.albums.create.mutate({ title: `r${i}` })
    const res = await fetch(`${server.url}/trpc/photos.move`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: photo.id, albumId: album.id, copy: true }),
    })
    outcomes.push(res.status)
    const body = (await res.json()) as { result?: { data: { id: string } }; error?: unknown }
    if (res.status === 200) copies.push(body.result!.data.id)
    if (res.status === 429) {
      expect(JSON.stringify(body.error)).toMatch(/Too many uploads: at most 60 a minute/)
      break
    }
  }
  expect(outcomes.at(-1)).toBe(429)
  // About RATE - COPIES - 4 tokens were left, plus the ones refilled meanwhile (one a second).
  expect(outcomes.filter((s) => s === 200).length).toBeLessThan(RATE - COPIES + 10)
  // A move that is not a copy adds nothing and is not limited.
  const album = await client.albums.create.mutate({ title: 'elsewhere' })
  await client.photos.move.mutate({ id: copies[0]!, albumId: album.id })
})

it('deleting the original and copies in any order never loses a blob in use', async () => {
  const client = server.client(alice)
  const blobsDir = join(server.dataDir, 'blobs')
  // The original first (hard), then a copy to the trash, then the orphan sweep with no grace.
  await client.photos.delete.mutate({ id: photo.id, hard: true })
  await client.photos.delete.mutate({ id: copies[1]!, hard: false })
  await server.app.darkroom.maintenance.sweepOrphans({ olderThanMs: 0 })
  expect(await fetchOriginal(copies[0]!)).toEqual({ status: 200, sha: photo.checksum })
  const remaining = [...copies]
  // Every copy but the last, hard, in a shuffled order; the bytes stay for the last one.
  const last = remaining.pop()!
  for (const id of remaining.reverse()) await client.photos.delete.mutate({ id, hard: true })
  await server.app.darkroom.maintenance.purgeTrash({ olderThanMs: 0 })
  await server.app.darkroom.maintenance.sweepOrphans({ olderThanMs: 0 })
  expect(await fetchOriginal(last)).toEqual({ status: 200, sha: photo.checksum })
  // The last one out frees the blobs.
  await client.photos.delete.mutate({ id: last, hard: true })
  expect(await folderBytes(blobsDir)).toBeLessThan(64 * 1024)
}, 60_000)
