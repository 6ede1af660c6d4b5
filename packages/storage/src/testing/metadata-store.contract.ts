import { randomUUID } from 'node:crypto'
import type { MetadataOps, MetadataStore, PhotoQuery, PhotoRecord, PhotoSort } from '@darkroom/core'
import { keysetOf } from '@darkroom/core/adapter-kit'
import {
  makeAlbumRecord,
  makeCommentRecord,
  makePhotoRecord,
  makeOwnerRecord,
} from '@darkroom/core/testing'
import { afterEach, beforeEach, describe, expect } from 'vitest'
import { caseRunner, sleep, type ContractCapabilities } from './contract-helpers.js'

/**
 * The `MetadataStore` contract: every adapter (memory, SQLite, Postgres) runs it first. Each
 * test works under its own random owner and ids, so the suite also runs on a shared database
 * and in any order; global queries (`listPendingBefore`, `scanPhotos` without an owner) are
 * checked on the test's own rows only.
 */
export interface MetadataStoreContractOptions {
  name: string
  /** A fresh store; the suite calls `migrate()` on it. */
  create: () => MetadataStore | Promise<MetadataStore>
  /** Disposes of the store (the suite does not close it). */
  cleanup?: (store: MetadataStore) => void | Promise<void>
  capabilities?: ContractCapabilities
}

const SORTS: PhotoSort[] = ['uploaded', 'taken', 'filename', 'size', 'rating', 'position']

export function describeMetadataStoreContract(options: MetadataStoreContractOptions): void {
  const { name, create, cleanup } = options
  const test = caseRunner(options.capabilities)

  describe(`MetadataStore contract: ${name}`, () => {
    let store: MetadataStore
    let ownerId: string

    beforeEach(async () => {
      store = await create()
      await store.migrate()
      ownerId = `owner-${randomUUID()}`
    })

    afterEach(async () => {
      await cleanup?.(store)
    })

    const photo = (overrides: Partial<PhotoRecord> = {}) =>
      makePhotoRecord({ ownerId, ...overrides })
    const album = (overrides = {}) => makeAlbumRecord({ ownerId, ...overrides })
    const insert = async (...records: PhotoRecord[]) => {
      for (const r of records) await store.insertPhoto(r)
      return records
    }
    const list = (query: Partial<PhotoQuery> = {}) =>
      store.listPhotos({ ownerId, sort: 'uploaded', order: 'asc', limit: 100, ...query })
    const ids = (records: { id: string }[]) => records.map((r) => r.id)
    const sorted = (records: { id: string }[]) => ids(records).sort()

    // ---------------------------------------------------------------- lifecycle

    describe('lifecycle', () => {
      test('migrate is idempotent', async () => {
        await store.migrate()
        await store.migrate()
        await store.insertPhoto(photo())
      })

      test('close is idempotent', async () => {
        const fresh = await create()
        await fresh.migrate()
        await fresh.close()
        await fresh.close()
        await cleanup?.(fresh)
      })
    })

    // ---------------------------------------------------------------- photos

    describe('photos', () => {
      test('insertPhoto then getPhoto returns every field as given', async () => {
        const record = photo({
          albumId: null,
          category: 'travel',
          filename: 'Été à Paris.HEIC',
          description: 'line one\nline two',
          mimeType: 'video/mp4',
          kind: 'video',
          size: 5_000_000_123,
          width: 1920,
          height: 1080,
          orientation: 6,
          manualDimensions: true,
          takenAt: '2023-07-14T21:30:05+02:00',
          exif: {
            make: 'Apple',
            model: 'iPhone 15',
            lens: null,
            iso: 100,
            exposure: 0.004,
            fNumber: 1.8,
            focalLength: 6.86,
            gps: { lat: 48.858844, lon: 2.294351 },
          },
          hue: '#aabbcc',
          thumbhash: 'YJqGPQw7sFlslqhFafSE+Q6oJ1h2iHB2Rw==',
          isPublic: true,
          hidden: true,
          pending: true,
          deletedAt: new Date('2024-02-03T04:05:06.789Z'),
          position: 'a0V',
          postId: 'post-7',
          variants: [
            {
              name: 'small',
              key: 'photos/x/small.webp',
              format: 'webp',
              mimeType: 'image/webp',
              width: 320,
              height: 180,
              size: 12345,
            },
          ],
          durationSec: 12.5,
          createdAt: new Date('2024-01-02T03:04:05.678Z'),
          updatedAt: new Date('2024-01-03T03:04:05.679Z'),
          views: 3,
          downloads: 2,
          likes: 1,
          ratingSum: 9,
          ratingCount: 2,
          commentCount: 4,
        })
        await store.insertPhoto(record)
        expect(await store.getPhoto(record.id)).toEqual(record)
      })

      test('getPhoto returns null for a missing id', async () => {
        expect(await store.getPhoto(randomUUID())).toBeNull()
      })

      test('records are copies: mutating one changes nothing stored', async () => {
        const record = photo({
          variants: [
            {
              name: 'small',
              key: 'k',
              format: 'webp',
              mimeType: 'image/webp',
              width: 1,
              height: 1,
              size: 1,
            },
          ],
        })
        await store.insertPhoto(record)
        record.filename = 'changed-after-insert.jpg'
        record.variants[0]!.width = 999
        record.createdAt.setTime(0)
        const got = (await store.getPhoto(record.id))!
        expect(got.filename).toBe('photo.jpg')
        expect(got.variants[0]!.width).toBe(1)
        expect(got.createdAt.getTime()).not.toBe(0)
        got.filename = 'changed-after-get.jpg'
        got.variants.push({ ...got.variants[0]! })
        got.updatedAt.setTime(0)
        const again = (await store.getPhoto(record.id))!
        expect(again.filename).toBe('photo.jpg')
        expect(again.variants).toHaveLength(1)
        expect(again.updatedAt.getTime()).not.toBe(0)
        const listed = (await list()).items[0]!
        listed.description = 'changed-after-list'
        expect((await store.getPhoto(record.id))!.description).toBe('')
      })

      test('getPhotos returns the existing ones, each once, in any order', async () => {
        const [a, b] = await insert(photo(), photo())
        const got = await store.getPhotos([b!.id, randomUUID(), a!.id, b!.id])
        expect(sorted(got)).toEqual(sorted([a!, b!]))
        expect(got.find((p) => p.id === a!.id)).toEqual(a)
        expect(await store.getPhotos([])).toEqual([])
      })

      test('getPhotos handles many ids', async () => {
        const records = await insert(...Array.from({ length: 30 }, () => photo()))
        const wanted = [...ids(records), ...Array.from({ length: 1200 }, () => randomUUID())]
        expect(sorted(await store.getPhotos(wanted))).toEqual(sorted(records))
      })

      test('findPhotosByOriginalKey finds every row naming a key: a photo and its copies', async () => {
        const [source, other] = await insert(photo(), photo())
        const elsewhere = album()
        await store.insertAlbum(elsewhere)
        const copy = photo({
          originalKey: source!.originalKey,
          variants: source!.variants,
          checksum: source!.checksum,
          albumId: elsewhere.id,
          deletedAt: new Date('2024-02-03T04:05:06.007Z'),
        })
        await insert(copy)
        const got = await store.findPhotosByOriginalKey([
          source!.originalKey,
          source!.originalKey,
          'photos/none/original',
        ])
        expect(sorted(got)).toEqual(sorted([source!, copy]))
        expect(got.find((p) => p.id === copy.id)).toEqual(copy)
        expect(sorted(await store.findPhotosByOriginalKey([other!.originalKey]))).toEqual([
          other!.id,
        ])
        expect(await store.findPhotosByOriginalKey([])).toEqual([])
      })

      test('findPhotosByOriginalKey handles many keys', async () => {
        const records = await insert(...Array.from({ length: 30 }, () => photo()))
        const wanted = [
          ...records.map((r) => r.originalKey),
          ...Array.from({ length: 1200 }, () => `photos/${randomUUID()}/original`),
        ]
        expect(sorted(await store.findPhotosByOriginalKey(wanted))).toEqual(sorted(records))
      })

      test('listAdjacentPositions: nearest first past a position, any state, from either end', async () => {
        const a = album()
        await store.insertAlbum(a)
        const [p1, p2, p3, p4] = await insert(
          photo({ albumId: a.id, position: 'a1' }),
          photo({ albumId: a.id, position: 'a2', deletedAt: new Date('2024-03-04T05:06:07.008Z') }),
          photo({ albumId: a.id, position: 'a3', pending: true }),
          photo({ albumId: a.id, position: 'a4' }),
        )
        await insert(photo({ albumId: null, position: 'a2x' }))
        const near = { ownerId, albumId: a.id, excludeId: p3!.id }
        expect(
          await store.listAdjacentPositions({
            ...near,
            position: 'a1',
            direction: 'after',
            limit: 5,
          }),
        ).toEqual([
          { id: p2!.id, position: 'a2' },
          { id: p4!.id, position: 'a4' },
        ])
        expect(
          await store.listAdjacentPositions({
            ...near,
            position: null,
            direction: 'before',
            limit: 2,
          }),
        ).toEqual([
          { id: p4!.id, position: 'a4' },
          { id: p2!.id, position: 'a2' },
        ])
        expect(
          await store.listAdjacentPositions({
            ...near,
            position: 'a2',
            direction: 'before',
            limit: 9,
          }),
        ).toEqual([{ id: p1!.id, position: 'a1' }])
      })

      test('lockPhoto returns the photo inside a transaction, or null', async () => {
        const [a] = await insert(photo())
        const got = await store.transaction(async (tx) => [
          await tx.lockPhoto(a!.id),
          await tx.lockPhoto(randomUUID()),
        ])
        expect(got).toEqual([a, null])
      })

      test('insertPhoto with an existing id throws CONFLICT', async () => {
        const [a] = await insert(photo())
        await expect(store.insertPhoto(photo({ id: a!.id }))).rejects.toMatchObject({
          code: 'CONFLICT',
        })
      })

      test('a duplicate checksum in one album throws CONFLICT, trashed ones included', async () => {
        const albumA = album()
        await store.insertAlbum(albumA)
        const [inAlbum, outside] = await insert(
          photo({ albumId: albumA.id, deletedAt: new Date() }),
          photo({ albumId: null, pending: true }),
        )
        const err = await store
          .insertPhoto(photo({ albumId: albumA.id, checksum: inAlbum!.checksum }))
          .catch((e: unknown) => e)
        expect(err).toMatchObject({ name: 'DarkroomError', code: 'CONFLICT' })
        await expect(
          store.insertPhoto(photo({ albumId: null, checksum: outside!.checksum })),
        ).rejects.toMatchObject({ code: 'CONFLICT' })
      })

      test('the same checksum is allowed across albums and across owners', async () => {
        const [a1, a2] = [album(), album()]
        await store.insertAlbum(a1)
        await store.insertAlbum(a2)
        const checksum = randomUUID()
        await insert(
          photo({ albumId: a1.id, checksum }),
          photo({ albumId: a2.id, checksum }),
          photo({ albumId: null, checksum }),
          photo({ albumId: null, checksum, ownerId: `other-${randomUUID()}` }),
        )
        expect((await list()).total).toBe(3)
      })

      test('insertPhoto into a missing album throws NOT_FOUND', async () => {
        await expect(store.insertPhoto(photo({ albumId: randomUUID() }))).rejects.toMatchObject({
          code: 'NOT_FOUND',
        })
      })

      test('findPhotoByChecksum looks in one album (or none), trashed included', async () => {
        const a = album()
        await store.insertAlbum(a)
        const checksum = randomUUID()
        const [inA, outside] = await insert(
          photo({ albumId: a.id, checksum, deletedAt: new Date() }),
          photo({ albumId: null, checksum }),
        )
        expect(await store.findPhotoByChecksum(ownerId, a.id, checksum)).toEqual(inA)
        expect(await store.findPhotoByChecksum(ownerId, null, checksum)).toEqual(outside)
        expect(await store.findPhotoByChecksum(ownerId, randomUUID(), checksum)).toBeNull()
        expect(await store.findPhotoByChecksum(`x-${randomUUID()}`, null, checksum)).toBeNull()
        expect(await store.findPhotoByChecksum(ownerId, null, randomUUID())).toBeNull()
      })

      test('updatePhoto applies the patch and returns the row after it', async () => {
        const a = album()
        await store.insertAlbum(a)
        const [p] = await insert(photo({ filename: 'old.jpg' }))
        const deletedAt = new Date('2024-05-05T05:05:05.005Z')
        const updatedAt = new Date('2024-06-06T06:06:06.006Z')
        const patch = {
          albumId: a.id,
          category: 'pets',
          filename: 'new.jpg',
          description: 'described',
          isPublic: true,
          hidden: true,
          pending: true,
          deletedAt,
          position: 'b5',
          postId: 'post-1',
          width: 10,
          height: 20,
          orientation: 8,
          manualDimensions: true,
          variants: [
            {
              name: 'large',
              key: 'photos/p/large.jpg',
              format: 'jpeg',
              mimeType: 'image/jpeg',
              width: 10,
              height: 20,
              size: 99,
            },
          ],
          updatedAt,
        }
        const after = await store.updatePhoto(p!.id, patch)
        expect(after).toEqual({ ...p, ...patch })
        expect(await store.getPhoto(p!.id)).toEqual(after)
        const restored = await store.updatePhoto(p!.id, {
          albumId: null,
          deletedAt: null,
          category: null,
        })
        expect(restored).toMatchObject({ albumId: null, deletedAt: null, category: null })
        expect(restored.filename).toBe('new.jpg')
        expect(restored.manualDimensions).toBe(true)
        expect(await store.updatePhoto(p!.id, { manualDimensions: false })).toMatchObject({
          manualDimensions: false,
          width: 10,
        })
      })

      test('updatePhoto with an empty patch returns the row unchanged', async () => {
        const [p] = await insert(photo())
        expect(await store.updatePhoto(p!.id, {})).toEqual(p)
      })

      test('updatePhoto throws NOT_FOUND for a missing photo or album', async () => {
        await expect(store.updatePhoto(randomUUID(), { filename: 'x' })).rejects.toMatchObject({
          code: 'NOT_FOUND',
        })
        await expect(store.updatePhoto(randomUUID(), {})).rejects.toMatchObject({
          code: 'NOT_FOUND',
        })
        const [p] = await insert(photo())
        await expect(store.updatePhoto(p!.id, { albumId: randomUUID() })).rejects.toMatchObject({
          code: 'NOT_FOUND',
        })
        expect(await store.getPhoto(p!.id)).toEqual(p)
      })

      test('updatePhoto moving onto a duplicate checksum throws CONFLICT', async () => {
        const a = album()
        await store.insertAlbum(a)
        const checksum = randomUUID()
        const [, outside] = await insert(
          photo({ albumId: a.id, checksum }),
          photo({ albumId: null, checksum }),
        )
        await expect(store.updatePhoto(outside!.id, { albumId: a.id })).rejects.toMatchObject({
          code: 'CONFLICT',
        })
        expect((await store.getPhoto(outside!.id))!.albumId).toBeNull()
      })

      test('incrementPhotoCounters adds and subtracts, and returns the row', async () => {
        const [p] = await insert(photo({ views: 5, likes: 2 }))
        const after = await store.incrementPhotoCounters(p!.id, {
          views: 3,
          downloads: 1,
          likes: -1,
          ratingSum: 7,
          ratingCount: 2,
          commentCount: 4,
        })
        expect(after).toEqual({
          ...p,
          views: 8,
          downloads: 1,
          likes: 1,
          ratingSum: 7,
          ratingCount: 2,
          commentCount: 4,
        })
        expect(await store.getPhoto(p!.id)).toEqual(after)
        expect(await store.incrementPhotoCounters(p!.id, {})).toEqual(after)
      })

      test('incrementPhotoCounters is atomic under concurrency', async () => {
        const [p] = await insert(photo())
        await Promise.all(
          Array.from({ length: 20 }, () => store.incrementPhotoCounters(p!.id, { views: 1 })),
        )
        expect((await store.getPhoto(p!.id))!.views).toBe(20)
      })

      test('incrementPhotoCounters throws NOT_FOUND for a missing photo', async () => {
        await expect(
          store.incrementPhotoCounters(randomUUID(), { views: 1 }),
        ).rejects.toMatchObject({ code: 'NOT_FOUND' })
      })

      test('deletePhoto removes the row and its likes, ratings and comments', async () => {
        const [p] = await insert(photo())
        await store.setLike(p!.id, 'u1', true)
        await store.setRating(p!.id, 'u1', 4)
        await store.insertComment(makeCommentRecord({ photoId: p!.id }))
        await store.deletePhoto(p!.id)
        expect(await store.getPhoto(p!.id)).toBeNull()
        expect(await store.listComments(p!.id, 10)).toEqual([])
        // The same id again starts without reactions.
        await store.insertPhoto(p!)
        expect(await store.setLike(p!.id, 'u1', true)).toBe(true)
        expect(await store.setRating(p!.id, 'u1', 2)).toBeNull()
        expect(await store.listComments(p!.id, 10)).toEqual([])
      })

      test('deletePhoto throws NOT_FOUND for a missing photo', async () => {
        await expect(store.deletePhoto(randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' })
      })

      test('countAlbumPhotos counts pending and hidden photos, not trashed ones', async () => {
        const [a, b] = [album(), album()]
        await store.insertAlbum(a)
        await store.insertAlbum(b)
        await insert(
          photo({ albumId: a.id }),
          photo({ albumId: a.id, pending: true }),
          photo({ albumId: a.id, hidden: true }),
          photo({ albumId: a.id, deletedAt: new Date() }),
          photo({ albumId: b.id }),
          photo({ albumId: null }),
        )
        expect(await store.countAlbumPhotos(a.id)).toBe(3)
        expect(await store.countAlbumPhotos(b.id)).toBe(1)
        expect(await store.countAlbumPhotos(randomUUID())).toBe(0)
      })

      test('sumOwnerBytes includes trash and pending, and is 0 for nobody', async () => {
        await insert(
          photo({ size: 100 }),
          photo({ size: 20, pending: true }),
          photo({ size: 3, deletedAt: new Date() }),
          photo({ size: 4_000_000_000 }),
          photo({ size: 1000, ownerId: `other-${randomUUID()}` }),
        )
        expect(await store.sumOwnerBytes(ownerId)).toBe(4_000_000_123)
        expect(await store.sumOwnerBytes(`nobody-${randomUUID()}`)).toBe(0)
      })

      test('getLastPosition is the greatest position in binary order, per album', async () => {
        const a = album()
        await store.insertAlbum(a)
        expect(await store.getLastPosition(ownerId, null)).toBeNull()
        await insert(
          photo({ position: 'Zz' }),
          photo({ position: 'a0', deletedAt: new Date() }),
          photo({ position: 'A9' }),
          photo({ position: 'zz', albumId: a.id }),
          photo({ position: 'a1', albumId: a.id }),
          photo({ position: 'zzz', ownerId: `other-${randomUUID()}` }),
        )
        expect(await store.getLastPosition(ownerId, null)).toBe('a0')
        expect(await store.getLastPosition(ownerId, a.id)).toBe('zz')
        expect(await store.getLastPosition(ownerId, randomUUID())).toBeNull()
      })

      test('getAdjacentPosition finds the nearest neighbour, skipping excludeId', async () => {
        const a = album()
        await store.insertAlbum(a)
        const [, , m] = await insert(
          photo({ position: 'a0' }),
          photo({ position: 'a2' }),
          photo({ position: 'a4' }),
          photo({ position: 'a6' }),
          photo({ position: 'a8' }),
          photo({ position: 'a3', albumId: a.id }),
          photo({ position: 'a5', ownerId: `other-${randomUUID()}` }),
        )
        const args = { ownerId, albumId: null, position: 'a4', excludeId: m!.id }
        expect(await store.getAdjacentPosition({ ...args, direction: 'before' })).toBe('a2')
        expect(await store.getAdjacentPosition({ ...args, direction: 'after' })).toBe('a6')
        expect(
          await store.getAdjacentPosition({ ...args, position: 'a3', direction: 'after' }),
        ).toBe('a6')
        expect(
          await store.getAdjacentPosition({ ...args, position: 'a0', direction: 'before' }),
        ).toBeNull()
        expect(
          await store.getAdjacentPosition({ ...args, position: 'a8', direction: 'after' }),
        ).toBeNull()
        expect(
          await store.getAdjacentPosition({ ...args, albumId: a.id, direction: 'before' }),
        ).toBe('a3')
        expect(
          await store.getAdjacentPosition({ ...args, albumId: a.id, direction: 'after' }),
        ).toBeNull()
      })

      test('listPendingBefore: pending photos made before the cutoff, oldest first', async () => {
        const base = Date.UTC(1990, 0, 1) + Math.floor(Math.random() * 1e9)
        const at = (ms: number) => new Date(base + ms)
        const [p1, p2, p3] = await insert(
          photo({ pending: true, createdAt: at(20) }),
          photo({ pending: true, createdAt: at(10), id: `0-${randomUUID()}` }),
          photo({ pending: true, createdAt: at(10), id: `1-${randomUUID()}` }),
          photo({ pending: true, createdAt: at(30) }),
          photo({ pending: false, createdAt: at(5) }),
        )
        const mine = new Set(ids([p1!, p2!, p3!]))
        const got = await store.listPendingBefore(at(30), 1000)
        expect(got.every((p) => p.pending && p.createdAt.getTime() < base + 30)).toBe(true)
        for (let i = 1; i < got.length; i++) {
          expect(got[i]!.createdAt.getTime()).toBeGreaterThanOrEqual(
            got[i - 1]!.createdAt.getTime(),
          )
        }
        expect(got.filter((p) => mine.has(p.id)).map((p) => p.id)).toEqual(ids([p2!, p3!, p1!]))
        expect(got.find((p) => p.id === p1!.id)).toEqual(p1)
        expect(await store.listPendingBefore(at(30), 0)).toEqual([])
      })

      test('listTrashedBefore: photos trashed before the cutoff, longest in the trash first', async () => {
        const base = Date.UTC(1980, 0, 1) + Math.floor(Math.random() * 1e9)
        const at = (ms: number) => new Date(base + ms)
        const [t1, t2, t3] = await insert(
          photo({ deletedAt: at(20) }),
          photo({ deletedAt: at(10), id: `0-${randomUUID()}` }),
          photo({ deletedAt: at(10), id: `1-${randomUUID()}`, pending: true }),
          photo({ deletedAt: at(30) }),
          photo({ deletedAt: null, createdAt: at(5) }),
        )
        const mine = new Set(ids([t1!, t2!, t3!]))
        const got = await store.listTrashedBefore(at(30), 1000)
        expect(got.every((p) => p.deletedAt !== null && p.deletedAt.getTime() < base + 30)).toBe(
          true,
        )
        for (let i = 1; i < got.length; i++) {
          expect(got[i]!.deletedAt!.getTime()).toBeGreaterThanOrEqual(
            got[i - 1]!.deletedAt!.getTime(),
          )
        }
        expect(got.filter((p) => mine.has(p.id)).map((p) => p.id)).toEqual(ids([t2!, t3!, t1!]))
        expect(got.find((p) => p.id === t1!.id)).toEqual(t1)
        expect(await store.listTrashedBefore(at(30), 0)).toEqual([])
      })

      test('scanPhotos walks by id after afterId, narrowed by owner', async () => {
        const records = await insert(...Array.from({ length: 7 }, () => photo({ pending: true })))
        await insert(photo({ ownerId: `other-${randomUUID()}` }))
        const expected = sorted(records)
        const seen: string[] = []
        let afterId: string | undefined
        for (;;) {
          const page = await store.scanPhotos({
            ownerId,
            limit: 3,
            ...(afterId ? { afterId } : {}),
          })
          if (page.length === 0) break
          expect(page.length).toBeLessThanOrEqual(3)
          seen.push(...ids(page))
          afterId = page[page.length - 1]!.id
        }
        expect(seen).toEqual(expected)
        const all = await store.scanPhotos({ afterId: expected[2]!, limit: 100_000 })
        const allIds = ids(all)
        expect(allIds).toEqual([...allIds].sort())
        expect(allIds.filter((id) => expected.includes(id))).toEqual(expected.slice(3))
      })
    })

    // ---------------------------------------------------------------- listPhotos

    describe('listPhotos', () => {
      // Six photos with ties on every sort; ids p0 < p1 < ... in binary order.
      async function seedSorted() {
        const base = `${randomUUID()}-`
        const id = (n: number) => `${base}${n}`
        const T = Date.parse('2021-05-01T09:59:59.000Z')
        const s = 1000
        const records = [
          photo({
            id: id(0),
            filename: 'b.jpg',
            size: 300,
            createdAt: new Date(T + 2 * s),
            takenAt: '2021-05-01T10:00:00+02:00',
            ratingSum: 4,
            ratingCount: 1,
            position: 'a2',
          }),
          // Undated: sorts by its upload time, 2021-05-01T10:00:00, tied with p0 and p2.
          photo({
            id: id(1),
            filename: 'B.jpg',
            size: 100,
            createdAt: new Date(T + 1 * s),
            takenAt: null,
            position: 'a1',
          }),
          photo({
            id: id(2),
            filename: 'a.jpg',
            size: 300,
            createdAt: new Date(T + 2 * s),
            takenAt: '2021-05-01T10:00:00-05:00',
            position: 'a2',
          }),
          photo({
            id: id(3),
            filename: 'b.jpg',
            size: 50,
            createdAt: new Date(T),
            takenAt: '2019-01-01T00:00:00',
            ratingSum: 8,
            ratingCount: 2,
            position: 'Z9',
          }),
          photo({
            id: id(4),
            filename: '\uff5a.jpg',
            size: 1000,
            createdAt: new Date(T + 3 * s),
            takenAt: '2030-01-01T00:00:00',
            ratingSum: 1,
            ratingCount: 3,
            position: 'a10',
          }),
          photo({
            id: id(5),
            filename: '\u{1f600}.jpg',
            size: 10,
            createdAt: new Date(T + 3 * s),
            takenAt: '2000-06-01T12:00:00Z',
            position: 'a3',
          }),
        ]
        await insert(...records)
        // p1's rating arrives through the counters, as in production: 9 / 2 = 4.5.
        records[1] = await store.incrementPhotoCounters(id(1), { ratingSum: 9, ratingCount: 2 })
        const order = (...ns: number[]) => ns.map(id)
        const expected: Record<PhotoSort, string[]> = {
          uploaded: order(3, 1, 0, 2, 4, 5),
          taken: order(5, 3, 0, 1, 2, 4),
          filename: order(1, 2, 0, 3, 4, 5),
          size: order(5, 3, 1, 0, 2, 4),
          rating: order(2, 5, 4, 0, 3, 1),
          position: order(3, 1, 4, 0, 2, 5),
        }
        return { records, expected }
      }

      for (const sort of SORTS) {
        for (const order of ['asc', 'desc'] as const) {
          test(`sort ${sort} ${order}: order, ties by id, offset and keyset`, async () => {
            const { expected } = await seedSorted()
            const want = order === 'asc' ? expected[sort] : [...expected[sort]].reverse()
            const all = await list({ sort, order })
            expect(ids(all.items)).toEqual(want)
            expect(all.total).toBe(6)

            const page = await list({ sort, order, limit: 2, offset: 2 })
            expect(ids(page.items)).toEqual(want.slice(2, 4))
            expect(page.total).toBe(6)

            const seen: string[] = []
            let after = undefined as PhotoQuery['after']
            for (let i = 0; i < 10; i++) {
              const p = await list({ sort, order, limit: 2, ...(after ? { after } : {}) })
              expect(p.total).toBe(6)
              if (p.items.length === 0) break
              seen.push(...ids(p.items))
              after = keysetOf(p.items[p.items.length - 1]!, sort)
            }
            expect(seen).toEqual(want)

            // A keyset and an offset together: the offset counts from the keyset.
            const first = all.items[0]!
            const skipped = await list({
              sort,
              order,
              limit: 2,
              offset: 1,
              after: keysetOf(first, sort),
            })
            expect(ids(skipped.items)).toEqual(want.slice(2, 4))
          })
        }
      }

      test('keyset paging visits every row exactly once with many ties', async () => {
        const T = Date.parse('2022-01-01T00:00:00.000Z')
        const records = await insert(
          ...Array.from({ length: 25 }, (_, i) =>
            photo({
              size: [10, 20, 30][i % 3]!,
              takenAt: i % 4 === 0 ? null : `2022-01-0${(i % 2) + 1}T00:00:00`,
              createdAt: new Date(T + (i % 5) * 1000),
              filename: ['x.jpg', 'X.jpg', 'y.jpg'][i % 3]!,
              position: ['a0', 'a1'][i % 2]!,
              ratingSum: i % 3,
              ratingCount: i % 3 === 0 ? 0 : 1 + (i % 2),
            }),
          ),
        )
        for (const sort of SORTS) {
          for (const order of ['asc', 'desc'] as const) {
            const full = ids((await list({ sort, order, limit: 1000 })).items)
            expect(full).toHaveLength(records.length)
            const seen: string[] = []
            let after = undefined as PhotoQuery['after']
            for (;;) {
              const p = await list({ sort, order, limit: 4, ...(after ? { after } : {}) })
              if (p.items.length === 0) break
              seen.push(...ids(p.items))
              after = keysetOf(p.items[p.items.length - 1]!, sort)
            }
            expect(seen, `${sort} ${order}`).toEqual(full)
          }
        }
      })

      test('count: false skips the count (total null) and returns the same page', async () => {
        await insert(photo(), photo(), photo())
        const counted = await list({ limit: 2 })
        const uncounted = await list({ limit: 2, count: false })
        expect(uncounted.total).toBeNull()
        expect(ids(uncounted.items)).toEqual(ids(counted.items))
      })

      test('limit 0 returns no items but the total', async () => {
        await insert(photo(), photo())
        expect(await list({ limit: 0 })).toEqual({ items: [], total: 2 })
      })

      test('an invalid limit, offset or keyset throws VALIDATION', async () => {
        await expect(list({ limit: -1 })).rejects.toMatchObject({ code: 'VALIDATION' })
        await expect(list({ offset: -1 })).rejects.toMatchObject({ code: 'VALIDATION' })
        await expect(list({ sort: 'size', after: { value: 'x', id: 'a' } })).rejects.toMatchObject({
          code: 'VALIDATION',
        })
        await expect(list({ sort: 'taken', after: { value: 1, id: 'a' } })).rejects.toMatchObject({
          code: 'VALIDATION',
        })
      })

      async function seedFiltered() {
        const a = album()
        await store.insertAlbum(a)
        const [f1, f2, f3, f4, f5] = await insert(
          photo({
            albumId: a.id,
            category: 'cats',
            filename: 'Sunset 100%.jpg',
            description: 'Été axb',
          }),
          photo({ category: 'dogs', hidden: true, filename: 'dog.png', description: 'A_b c' }),
          photo({ pending: true, filename: 'pending.jpg' }),
          photo({ albumId: a.id, deletedAt: new Date(), filename: 'trashed sunset.jpg' }),
          photo({ category: 'cats', filename: 'IMG_0001.JPG', description: 'Beach' }),
          photo({ ownerId: `other-${randomUUID()}`, filename: 'sunset.jpg' }),
        )
        return { a, f1: f1!, f2: f2!, f3: f3!, f4: f4!, f5: f5! }
      }

      test('default filters: not pending, not trashed, any album or none, hidden too', async () => {
        const { f1, f2, f5 } = await seedFiltered()
        const page = await list()
        expect(sorted(page.items)).toEqual(sorted([f1, f2, f5]))
        expect(page.total).toBe(3)
      })

      test('albumId: null lists photos outside albums, a string one album', async () => {
        const { a, f1, f2, f5 } = await seedFiltered()
        expect(sorted((await list({ albumId: null })).items)).toEqual(sorted([f2, f5]))
        expect(ids((await list({ albumId: a.id })).items)).toEqual([f1.id])
        expect((await list({ albumId: randomUUID() })).total).toBe(0)
      })

      test('category and hidden filter when given', async () => {
        const { f1, f2, f5 } = await seedFiltered()
        expect(sorted((await list({ category: 'cats' })).items)).toEqual(sorted([f1, f5]))
        expect(ids((await list({ hidden: true })).items)).toEqual([f2.id])
        expect(sorted((await list({ hidden: false })).items)).toEqual(sorted([f1, f5]))
      })

      test('pending: true lists only pending; trashed: true only the trash', async () => {
        const { f3, f4 } = await seedFiltered()
        expect(ids((await list({ pending: true })).items)).toEqual([f3.id])
        expect(ids((await list({ trashed: true })).items)).toEqual([f4.id])
        expect((await list({ pending: true, trashed: true })).total).toBe(0)
      })

      test('search: case-insensitive substring of filename or description', async () => {
        const { f1, f5 } = await seedFiltered()
        expect(ids((await list({ search: 'SUNSET' })).items)).toEqual([f1.id])
        expect(ids((await list({ search: 'beach' })).items)).toEqual([f5.id])
        expect(ids((await list({ search: 'img_0001.jpg' })).items)).toEqual([f5.id])
        expect(ids((await list({ search: 'été' })).items)).toEqual([f1.id])
        expect(ids((await list({ search: 'ÉTÉ' })).items)).toEqual([f1.id])
        expect((await list({ search: 'nothing-like-this' })).total).toBe(0)
        expect((await list({ search: 'sunset', trashed: true })).total).toBe(1)
      })

      test('search: % and _ match literally', async () => {
        const { f1, f2, f5 } = await seedFiltered()
        expect(ids((await list({ search: '%' })).items)).toEqual([f1.id])
        expect(ids((await list({ search: '0%.' })).items)).toEqual([f1.id])
        expect(ids((await list({ search: 'a_b' })).items)).toEqual([f2.id])
        expect(sorted((await list({ search: '_' })).items)).toEqual(sorted([f2, f5]))
        expect((await list({ search: '\\' })).total).toBe(0)
      })

      test('total counts every match, ignoring limit, offset and keyset', async () => {
        await insert(...Array.from({ length: 5 }, () => photo()))
        const first = (await list()).items[0]!
        const page = await list({ limit: 1, offset: 1, after: keysetOf(first, 'uploaded') })
        expect(page.items).toHaveLength(1)
        expect(page.total).toBe(5)
      })
    })

    // ---------------------------------------------------------------- albums

    describe('albums', () => {
      test('insertAlbum then getAlbum round-trips; a missing one is null', async () => {
        const a = album({
          title: 'Trip',
          description: 'Summer',
          photoCap: 50,
          coverPhotoId: randomUUID(),
          createdAt: new Date('2024-03-04T05:06:07.008Z'),
        })
        await store.insertAlbum(a)
        expect(await store.getAlbum(a.id)).toEqual(a)
        expect(await store.getAlbum(randomUUID())).toBeNull()
      })

      test('insertAlbum with an existing id throws CONFLICT', async () => {
        const a = album()
        await store.insertAlbum(a)
        await expect(store.insertAlbum(album({ id: a.id }))).rejects.toMatchObject({
          code: 'CONFLICT',
        })
      })

      test('lockAlbum returns the album inside a transaction, or null', async () => {
        const a = album()
        await store.insertAlbum(a)
        const missing = randomUUID()
        const got = await store.transaction(async (tx) => [
          await tx.lockAlbum(a.id),
          await tx.lockAlbum(missing),
        ])
        expect(got).toEqual([a, null])
      })

      test('listAlbums: oldest first, with counts that leave out the trash', async () => {
        const T = Date.parse('2024-01-01T00:00:00.000Z')
        const base = randomUUID()
        const older = album({ createdAt: new Date(T), id: `${base}-c` })
        const tieA = album({ createdAt: new Date(T + 5), id: `${base}-a` })
        const tieB = album({ createdAt: new Date(T + 5), id: `${base}-b` })
        for (const x of [tieB, older, tieA]) await store.insertAlbum(x)
        await store.insertAlbum(album({ ownerId: `other-${randomUUID()}` }))
        await insert(
          photo({ albumId: older.id }),
          photo({ albumId: older.id, pending: true }),
          photo({ albumId: older.id, deletedAt: new Date() }),
          photo({ albumId: tieB.id }),
        )
        expect(await store.listAlbums(ownerId)).toEqual([
          { ...older, photoCount: 2 },
          { ...tieA, photoCount: 0 },
          { ...tieB, photoCount: 1 },
        ])
        expect(await store.listAlbums(`nobody-${randomUUID()}`)).toEqual([])
      })

      test('updateAlbum applies the patch; NOT_FOUND when missing', async () => {
        const a = album({ photoCap: 5, coverPhotoId: 'c1' })
        await store.insertAlbum(a)
        const updatedAt = new Date('2025-01-01T00:00:00.001Z')
        const after = await store.updateAlbum(a.id, {
          title: 'New',
          description: 'd',
          photoCap: null,
          coverPhotoId: null,
          updatedAt,
        })
        expect(after).toEqual({
          ...a,
          title: 'New',
          description: 'd',
          photoCap: null,
          coverPhotoId: null,
          updatedAt,
        })
        expect(await store.getAlbum(a.id)).toEqual(after)
        expect(await store.updateAlbum(a.id, {})).toEqual(after)
        await expect(store.updateAlbum(randomUUID(), { title: 'x' })).rejects.toMatchObject({
          code: 'NOT_FOUND',
        })
        await expect(store.updateAlbum(randomUUID(), {})).rejects.toMatchObject({
          code: 'NOT_FOUND',
        })
      })

      test('deleteAlbum removes it and leaves its photos outside any album', async () => {
        const a = album()
        await store.insertAlbum(a)
        const [p, trashed] = await insert(
          photo({ albumId: a.id }),
          photo({ albumId: a.id, deletedAt: new Date() }),
        )
        await store.deleteAlbum(a.id)
        expect(await store.getAlbum(a.id)).toBeNull()
        expect(await store.getPhoto(p!.id)).toEqual({ ...p, albumId: null })
        expect((await store.getPhoto(trashed!.id))!.albumId).toBeNull()
        expect(ids((await list({ albumId: null })).items)).toEqual([p!.id])
        expect(await store.findPhotoByChecksum(ownerId, null, p!.checksum)).toEqual({
          ...p,
          albumId: null,
        })
        // It now holds the checksum outside any album.
        await expect(
          store.insertPhoto(photo({ albumId: null, checksum: p!.checksum })),
        ).rejects.toMatchObject({ code: 'CONFLICT' })
      })

      test('deleteAlbum throws CONFLICT, changing nothing, if a checksum would clash', async () => {
        const a = album()
        await store.insertAlbum(a)
        const checksum = randomUUID()
        const [inAlbum] = await insert(
          photo({ albumId: a.id, checksum }),
          photo({ albumId: null, checksum }),
        )
        await expect(store.deleteAlbum(a.id)).rejects.toMatchObject({ code: 'CONFLICT' })
        expect(await store.getAlbum(a.id)).toEqual(a)
        expect(await store.getPhoto(inAlbum!.id)).toEqual(inAlbum)
      })

      test('listChecksumClashes pairs album photos with their bytes outside any album', async () => {
        const [a, b] = [album(), album()]
        await store.insertAlbum(a)
        await store.insertAlbum(b)
        const [shared, trashedShared, pendingShared] = [randomUUID(), randomUUID(), randomUUID()]
        const [inA, inATrashed, inAPending, , , outside, outsideTrashed, outsidePending] =
          await insert(
            photo({ albumId: a.id, checksum: shared }),
            photo({ albumId: a.id, checksum: trashedShared, deletedAt: new Date() }),
            photo({ albumId: a.id, checksum: pendingShared }),
            photo({ albumId: a.id }), // its bytes are nowhere else
            photo({ albumId: b.id, checksum: shared }), // in another album: no clash
            photo({ albumId: null, checksum: shared }),
            photo({ albumId: null, checksum: trashedShared, deletedAt: new Date() }),
            photo({ albumId: null, checksum: pendingShared, pending: true }),
            photo({ albumId: null, checksum: shared, ownerId: `other-${randomUUID()}` }),
          )
        const clashes = await store.listChecksumClashes(a.id)
        const byInAlbum = (x: { inAlbum: PhotoRecord }, y: { inAlbum: PhotoRecord }) =>
          x.inAlbum.id < y.inAlbum.id ? -1 : 1
        expect([...clashes].sort(byInAlbum)).toEqual(
          [
            { inAlbum: inA!, outside: outside! },
            { inAlbum: inATrashed!, outside: outsideTrashed! },
            { inAlbum: inAPending!, outside: outsidePending! },
          ].sort(byInAlbum),
        )
        expect(await store.listChecksumClashes(randomUUID())).toEqual([])
        // Inside a transaction, as albums.delete calls it.
        expect(await store.transaction((tx) => tx.listChecksumClashes(b.id))).toEqual([
          { inAlbum: expect.objectContaining({ albumId: b.id }), outside: outside! },
        ])
      })

      test('deleteAlbum throws NOT_FOUND for a missing album', async () => {
        await expect(store.deleteAlbum(randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' })
      })
    })

    // ---------------------------------------------------------------- retained blobs

    describe('retained blobs', () => {
      const retained = (photoId = randomUUID(), name = 'original') => ({
        key: `photos/${photoId}/${name}`,
        photoId,
        ownerId,
        retainedAt: new Date('2024-05-06T07:08:09.010Z'),
      })

      test('retainBlobs records keys that findRetainedBlobs then finds, idempotently', async () => {
        const id = randomUUID()
        const [original, small] = [retained(id), retained(id, 'small.webp')]
        const other = retained()
        expect(await store.findRetainedBlobs([original.key, other.key])).toEqual([])
        await store.retainBlobs([original, small])
        await store.retainBlobs([original])
        await store.retainBlobs([])
        const found = await store.findRetainedBlobs([other.key, small.key, original.key, small.key])
        expect(found.sort()).toEqual([original.key, small.key].sort())
        expect(await store.findRetainedBlobs([])).toEqual([])
      })

      test('retainBlobs joins the transaction it runs in', async () => {
        const blob = retained()
        await expect(
          store.transaction(async (tx) => {
            await tx.retainBlobs([blob])
            expect(await tx.findRetainedBlobs([blob.key])).toEqual([blob.key])
            throw new Error('roll back')
          }),
        ).rejects.toThrow('roll back')
        expect(await store.findRetainedBlobs([blob.key])).toEqual([])
      })

      test('findRetainedBlobs handles many keys', async () => {
        const blobs = Array.from({ length: 300 }, () => retained())
        await store.retainBlobs(blobs)
        const wanted = [
          ...blobs.map((b) => b.key),
          ...Array.from({ length: 900 }, () => retained().key),
        ]
        expect((await store.findRetainedBlobs(wanted)).sort()).toEqual(
          blobs.map((b) => b.key).sort(),
        )
      })
    })

    // ---------------------------------------------------------------- owners

    describe('owners', () => {
      test('getOwner is null until upsertOwner creates it; upsert replaces', async () => {
        const owner = makeOwnerRecord({ ownerId, quotaBytes: 5_000_000_000 })
        expect(await store.getOwner(ownerId)).toBeNull()
        await store.upsertOwner(owner)
        expect(await store.getOwner(ownerId)).toEqual(owner)
        const replaced = { ownerId, quotaBytes: null, profilePhotoId: 'p1' }
        await store.upsertOwner(replaced)
        expect(await store.getOwner(ownerId)).toEqual(replaced)
      })

      test('lockOwner creates the row with defaults, or returns the existing one', async () => {
        const created = await store.transaction((tx) => tx.lockOwner(ownerId))
        expect(created).toEqual({ ownerId, quotaBytes: null, profilePhotoId: null })
        expect(await store.getOwner(ownerId)).toEqual(created)
        const other = makeOwnerRecord({ quotaBytes: 10 })
        await store.upsertOwner(other)
        expect(await store.transaction((tx) => tx.lockOwner(other.ownerId))).toEqual(other)
      })
    })

    // ---------------------------------------------------------------- reactions

    describe('reactions', () => {
      test('setLike is idempotent and reports whether something changed', async () => {
        const [p] = await insert(photo())
        expect(await store.setLike(p!.id, 'u1', true)).toBe(true)
        expect(await store.setLike(p!.id, 'u1', true)).toBe(false)
        expect(await store.setLike(p!.id, 'u2', true)).toBe(true)
        expect(await store.setLike(p!.id, 'u1', false)).toBe(true)
        expect(await store.setLike(p!.id, 'u1', false)).toBe(false)
        expect(await store.setLike(p!.id, 'u2', false)).toBe(true)
      })

      test('setLike throws NOT_FOUND for a missing photo', async () => {
        await expect(store.setLike(randomUUID(), 'u1', true)).rejects.toMatchObject({
          code: 'NOT_FOUND',
        })
        await expect(store.setLike(randomUUID(), 'u1', false)).rejects.toMatchObject({
          code: 'NOT_FOUND',
        })
      })

      test('setRating returns the rating it replaced, per user', async () => {
        const [p] = await insert(photo())
        expect(await store.setRating(p!.id, 'u1', 3)).toBeNull()
        expect(await store.setRating(p!.id, 'u1', 5)).toBe(3)
        expect(await store.setRating(p!.id, 'u2', 1)).toBeNull()
        expect(await store.setRating(p!.id, 'u1', 5)).toBe(5)
      })

      test('setRating refuses ratings outside 1-5 and missing photos', async () => {
        const [p] = await insert(photo())
        for (const bad of [0, 6, 2.5, Number.NaN]) {
          await expect(store.setRating(p!.id, 'u1', bad)).rejects.toMatchObject({
            code: 'VALIDATION',
          })
        }
        await expect(store.setRating(randomUUID(), 'u1', 3)).rejects.toMatchObject({
          code: 'NOT_FOUND',
        })
      })

      test('insertComment and listComments: oldest first, limited', async () => {
        const [p, q] = await insert(photo(), photo())
        const T = Date.parse('2024-01-01T00:00:00.000Z')
        const base = randomUUID()
        const c = (n: string, ms: number) =>
          makeCommentRecord({ id: `${base}-${n}`, photoId: p!.id, createdAt: new Date(T + ms) })
        const [c1, c2, c3, c4] = [c('b', 0), c('a', 5), c('b2', 5), c('c', 10)]
        for (const x of [c4!, c2!, c1!, c3!]) await store.insertComment(x)
        await store.insertComment(makeCommentRecord({ photoId: q!.id }))
        expect(await store.listComments(p!.id, 10)).toEqual([c1, c2, c3, c4])
        expect(await store.listComments(p!.id, 2)).toEqual([c1, c2])
        expect(await store.listComments(randomUUID(), 10)).toEqual([])
      })

      test('insertComment: CONFLICT on an existing id, NOT_FOUND on a missing photo', async () => {
        const [p] = await insert(photo())
        const comment = makeCommentRecord({ photoId: p!.id })
        await store.insertComment(comment)
        await expect(store.insertComment({ ...comment, body: 'again' })).rejects.toMatchObject({
          code: 'CONFLICT',
        })
        await expect(
          store.insertComment(makeCommentRecord({ photoId: randomUUID() })),
        ).rejects.toMatchObject({ code: 'NOT_FOUND' })
      })
    })

    // ---------------------------------------------------------------- transactions

    describe('transaction', () => {
      test('commits every write together and returns what fn returns', async () => {
        const a = album()
        const p = photo({ albumId: a.id })
        const result = await store.transaction(async (tx) => {
          await tx.insertAlbum(a)
          await tx.insertPhoto(p)
          await tx.upsertOwner({ ownerId, quotaBytes: 1, profilePhotoId: null })
          expect(await tx.getPhoto(p.id)).toEqual(p)
          return 'done'
        })
        expect(result).toBe('done')
        expect(await store.getAlbum(a.id)).toEqual(a)
        expect(await store.getPhoto(p.id)).toEqual(p)
        expect((await store.getOwner(ownerId))!.quotaBytes).toBe(1)
      })

      test('rolls back every write when fn throws, and rethrows its error', async () => {
        const [existing] = await insert(photo({ views: 1 }))
        const a = album()
        const p = photo()
        const boom = new Error('boom')
        const err = await store
          .transaction(async (tx) => {
            await tx.insertAlbum(a)
            await tx.insertPhoto(p)
            await tx.updatePhoto(existing!.id, { filename: 'renamed.jpg' })
            await tx.incrementPhotoCounters(existing!.id, { views: 10 })
            await tx.setLike(existing!.id, 'u1', true)
            await tx.upsertOwner({ ownerId, quotaBytes: 1, profilePhotoId: null })
            await tx.deletePhoto(existing!.id)
            throw boom
          })
          .catch((e: unknown) => e)
        expect(err).toBe(boom)
        expect(await store.getAlbum(a.id)).toBeNull()
        expect(await store.getPhoto(p.id)).toBeNull()
        expect(await store.getPhoto(existing!.id)).toEqual(existing)
        expect(await store.getOwner(ownerId)).toBeNull()
        expect(await store.setLike(existing!.id, 'u1', true)).toBe(true)
      })

      test('a CONFLICT inside rolls the whole transaction back', async () => {
        const [existing] = await insert(photo())
        const p = photo()
        await expect(
          store.transaction(async (tx) => {
            await tx.insertPhoto(p)
            await tx.insertPhoto(photo({ checksum: existing!.checksum }))
          }),
        ).rejects.toMatchObject({ code: 'CONFLICT' })
        expect(await store.getPhoto(p.id)).toBeNull()
      })

      test('concurrent transactions that count then insert do not interleave', async () => {
        const a = album()
        await store.insertAlbum(a)
        const addOne = () =>
          store.transaction(async (tx: MetadataOps) => {
            await tx.lockAlbum(a.id)
            const n = await tx.countAlbumPhotos(a.id)
            await sleep(20)
            await tx.insertPhoto(photo({ albumId: a.id, position: `p${n}` }))
          })
        await Promise.all([addOne(), addOne(), addOne()])
        const page = await list({ albumId: a.id, sort: 'position' })
        expect(page.items.map((p) => p.position)).toEqual(['p0', 'p1', 'p2'])
      })

      test('concurrent transactions on one owner see each other’s commits', async () => {
        await store.upsertOwner({ ownerId, quotaBytes: 0, profilePhotoId: null })
        const bump = () =>
          store.transaction(async (tx) => {
            const owner = await tx.lockOwner(ownerId)
            await sleep(5)
            await tx.upsertOwner({ ...owner, quotaBytes: (owner.quotaBytes ?? 0) + 1 })
          })
        await Promise.all(Array.from({ length: 5 }, bump))
        expect((await store.getOwner(ownerId))!.quotaBytes).toBe(5)
      })

      test('standalone writes during a transaction both land', async () => {
        const inside = photo()
        const outside = photo()
        let started!: () => void
        const running = new Promise<void>((resolve) => (started = resolve))
        const tx = store.transaction(async (t) => {
          await t.insertPhoto(inside)
          started()
          await sleep(20)
        })
        await running
        await Promise.all([tx, store.insertPhoto(outside)])
        expect(sorted((await list()).items)).toEqual(sorted([inside, outside]))
      })
    })
  })
}
