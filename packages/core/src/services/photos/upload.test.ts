import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { DarkroomError } from '../../errors.js'
import { localFile } from '../../internal/bytes.js'
import * as defaultMedia from '../../media/index.js'
import type { BlobStore } from '../../ports/blob-store.js'
import {
  asPhoto,
  ManualClock,
  makeCaller,
  photosOf,
  makeJpeg,
  makePng,
  makeTestDarkroom,
  MemoryBlobStore,
} from '../../testing/index.js'

const alice = makeCaller('alice')

async function blobKeys(blobs: BlobStore): Promise<string[]> {
  const keys: string[] = []
  for await (const b of blobs.list()) keys.push(b.key)
  return keys.sort()
}

describe('photos.upload', () => {
  it('ingests a JPEG: displayed size after orientation, EXIF, variants, checksum, original kept byte for byte', async () => {
    const { darkroom, blobs, events } = await makeTestDarkroom()
    const data = await makeJpeg({
      width: 1200,
      height: 800,
      orientation: 6,
      dateTimeOriginal: '2024:05:12 15:23:11',
      offsetTimeOriginal: '+02:00',
      offsetTime: '-07:00',
      gps: { lat: 48.858233, lon: -2.352166 },
      make: 'Darkroom',
      model: 'Test Cam',
    })
    const { uploaded, skipped } = await darkroom.photos.upload(alice, {
      files: [{ filename: 'DSC_2031.jpg', data }],
    })
    expect(skipped).toEqual([])
    const [photo] = photosOf({ uploaded })
    expect(photo).toMatchObject({
      filename: 'DSC_2031.jpg',
      mimeType: 'image/jpeg',
      kind: 'image',
      width: 800,
      height: 1200,
      orientation: 6,
      ratio: 0.6667,
      takenAt: '2024-05-12T15:23:11+02:00',
      size: data.byteLength,
      pending: false,
      hidden: false,
    })
    expect(photo!.exif?.make).toBe('Darkroom')
    expect(photo!.exif?.gps?.lat).toBeCloseTo(48.858233, 5)
    expect(photo!.exif?.gps?.lon).toBeCloseTo(-2.352166, 5)
    expect(photo!.hue).toMatch(/^#[0-9a-f]{6}$/)
    expect(photo!.thumbhash).toBeTruthy()
    expect(photo!.variants.small).toMatch(/\/photos\/.+\/small\.webp$/)
    const original = await blobs.get(`photos/${photo!.id}/original`)
    const chunks: Buffer[] = []
    for await (const c of original!) chunks.push(c as Buffer)
    expect(Buffer.concat(chunks).equals(data)).toBe(true)
    expect(await blobKeys(blobs)).toEqual(
      ['large.webp', 'medium.webp', 'original', 'small.webp'].map(
        (n) => `photos/${photo!.id}/${n}`,
      ),
    )
    expect(events.map((e) => e.type)).toEqual(['photo.uploaded'])
  })

  it('tells an anonymous caller of a duplicate without naming the photo, and restores none', async () => {
    const { darkroom } = await makeTestDarkroom()
    const guest = { ownerId: 'guest', scopes: ['photos.write'], anonymous: true }
    const owner = makeCaller('guest')
    const [live, trashed] = await Promise.all([makePng({ width: 9 }), makePng({ width: 10 })])
    const first = await darkroom.photos.upload(guest, {
      files: [
        { filename: 'live.png', data: live },
        { filename: 'trashed.png', data: trashed },
      ],
    })
    const trashedId = first.uploaded.find((p) => p.index === 1)!.id
    await darkroom.photos.delete(owner, { id: trashedId })

    const again = await darkroom.photos.upload(guest, {
      files: [
        { filename: 'a.png', data: live },
        { filename: 'b.png', data: trashed },
      ],
    })
    expect(again.uploaded).toEqual([])
    expect(again.skipped).toEqual([
      {
        index: 0,
        filename: 'a.png',
        reason: 'duplicate',
        message: 'The same file is already stored.',
      },
      {
        index: 1,
        filename: 'b.png',
        reason: 'duplicate',
        message: 'The same file is already stored.',
      },
    ])
    expect((await darkroom.photos.get(owner, { id: trashedId })).deletedAt).not.toBeNull()
  })

  it('takes streams and Uint8Arrays, and names each skipped file with its reason', async () => {
    const { darkroom } = await makeTestDarkroom({
      config: { concurrency: 1, limits: { maxFileBytes: 2000 } },
    })
    const small = await makePng({ width: 8, height: 8 })
    const big = Buffer.alloc(5000, 1)
    const { uploaded, skipped } = await darkroom.photos.upload(alice, {
      files: [
        { filename: 'a.png', data: Readable.from([small.subarray(0, 10), small.subarray(10)]) },
        { filename: 'b.png', data: new Uint8Array(small) },
        { filename: 'big.jpg', data: big },
        { filename: 'doc.jpg', data: Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\n') },
      ],
    })
    expect(photosOf({ uploaded }).map((u) => u.filename)).toEqual(['a.png'])
    expect(skipped).toEqual([
      expect.objectContaining({
        index: 1,
        filename: 'b.png',
        reason: 'duplicate',
        existingId: uploaded[0]!.id,
      }),
      expect.objectContaining({
        index: 2,
        reason: 'too_large',
        message: 'The file is too large (4.88 KB). Allowed maximum size is 1.95 KB.',
      }),
      expect.objectContaining({
        index: 3,
        reason: 'invalid_type',
        message: expect.stringContaining('"application/pdf"'),
      }),
    ])
  })

  it('takes an AsyncIterable and a local file too, leaving the local file as it was', async () => {
    const { darkroom } = await makeTestDarkroom({ config: { limits: { maxFileBytes: 2000 } } })
    const dir = await mkdtemp(join(tmpdir(), 'darkroom-upload-'))
    try {
      const first = await makePng({ width: 8, height: 8 })
      const second = await makePng({ width: 9, height: 7 })
      const onDisk = join(dir, 'b.png')
      await writeFile(onDisk, second)
      const tooBig = join(dir, 'big.jpg')
      await writeFile(tooBig, Buffer.alloc(5000, 1))
      const chunks = async function* () {
        yield first.subarray(0, 5)
        yield first.subarray(5)
      }
      const { uploaded, skipped } = await darkroom.photos.upload(alice, {
        files: [
          { filename: 'a.png', data: chunks() },
          { filename: 'b.png', data: localFile(onDisk) },
          { filename: 'big.jpg', data: localFile(tooBig, 5000) },
        ],
      })
      expect(photosOf({ uploaded }).map((u) => [u.filename, u.size, u.width])).toEqual([
        ['a.png', first.byteLength, 8],
        ['b.png', second.byteLength, 9],
      ])
      expect(skipped).toEqual([
        expect.objectContaining({
          index: 2,
          reason: 'too_large',
          message: 'The file is too large (4.88 KB). Allowed maximum size is 1.95 KB.',
        }),
      ])
      expect((await readFile(onDisk)).equals(second)).toBe(true)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('keeps the batch in file order when a later file finishes first', async () => {
    const { darkroom } = await makeTestDarkroom()
    const album = await darkroom.albums.create(alice, { title: 'order' })
    // The first file is by far the slowest to render; the rest are tiny.
    const files = [
      { filename: 'big.jpg', data: await makeJpeg({ width: 3000, height: 2000 }) },
      ...(await Promise.all(
        [1, 2, 3, 4, 5].map(async (n) => ({
          filename: `small-${n}.png`,
          data: await makePng({ width: 16 + n, height: 16 }),
        })),
      )),
    ]
    const { uploaded } = await darkroom.photos.upload(alice, { albumId: album.id, files })
    expect(photosOf({ uploaded }).map((p) => p.filename)).toEqual(files.map((f) => f.filename))
    const page = await darkroom.photos.list(alice, { albumId: album.id, sort: 'position' })
    expect(page.items.map((p) => p.filename)).toEqual(files.map((f) => f.filename))
  })

  it('gives a batch createdAt in file order, strictly increasing, whichever file finishes first', async () => {
    const clock = new ManualClock()
    const slow = 41
    const { darkroom } = await makeTestDarkroom({
      clock,
      config: { concurrency: 2 },
      media: {
        // The first file renders last; every render moves the clock on a second.
        renderImage: async (bytes, probe, options) => {
          if (probe.width === slow) await new Promise((resolve) => setTimeout(resolve, 150))
          const rendered = await defaultMedia.renderImage(bytes, probe, options)
          clock.advance(1000)
          return rendered
        },
      },
    })
    const files = await Promise.all(
      [slow, 42, 43, 44].map(async (width, i) => ({
        filename: `${i}.jpg`,
        data: await makeJpeg({ width, height: 30, seed: 700 + i }),
      })),
    )
    const { uploaded } = await darkroom.photos.upload(alice, { files })
    const byIndex = photosOf({ uploaded }).sort((a, b) => a.index - b.index)
    const times = byIndex.map((p) => Date.parse(p.createdAt))
    for (let i = 1; i < times.length; i++)
      expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]! + 1)
    expect(byIndex.every((p) => p.updatedAt === p.createdAt)).toBe(true)

    const newest = await darkroom.photos.list(alice)
    expect(newest.items.map((p) => p.filename)).toEqual(['3.jpg', '2.jpg', '1.jpg', '0.jpg'])
    const oldest = await darkroom.photos.list(alice, { sort: 'uploaded', order: 'asc' })
    expect(oldest.items.map((p) => p.filename)).toEqual(['0.jpg', '1.jpg', '2.jpg', '3.jpg'])
  })

  it('refuses a single invalid file with VALIDATION and stores nothing', async () => {
    const { darkroom, blobs, store } = await makeTestDarkroom()
    const error = await darkroom.photos
      .upload(alice, {
        files: [{ filename: 'x.jpg', data: Buffer.from('<html><script>alert(1)</script></html>') }],
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DarkroomError)
    expect((error as DarkroomError).code).toBe('VALIDATION')
    expect((error as DarkroomError).violations[0]).toMatchObject({
      property: 'file',
      reason: 'invalid_type',
    })
    expect((error as DarkroomError).violations[0]!.message).toMatch(
      /^The mime type of the file is invalid \(".+"\)\. Allowed mime types are "image\/jpeg"/,
    )
    expect(await blobKeys(blobs)).toEqual([])
    expect(
      (await store.listPhotos({ ownerId: 'alice', sort: 'uploaded', order: 'asc', limit: 10 }))
        .total,
    ).toBe(0)
  })

  it('refuses a batch over maxFilesPerBatch, and the config hard cap is 2000', async () => {
    const { darkroom } = await makeTestDarkroom({ config: { limits: { maxFilesPerBatch: 2 } } })
    const data = await makePng()
    const files = [1, 2, 3].map((i) => ({ filename: `${i}.png`, data }))
    await expect(darkroom.photos.upload(alice, { files })).rejects.toMatchObject({
      code: 'CAP_EXCEEDED',
      cap: { name: 'maxFilesPerBatch', limit: 2 },
    })
    await expect(
      makeTestDarkroom({ config: { limits: { maxFilesPerBatch: 2001 } } }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    })
  })

  it('never passes an album photoCap under two concurrent batches', async () => {
    const { darkroom, blobs } = await makeTestDarkroom()
    const album = await darkroom.albums.create(alice, { title: 'Wedding', photoCap: 10 })
    const batch = async (offset: number) =>
      darkroom.photos.upload(alice, {
        albumId: album.id,
        files: await Promise.all(
          [0, 1, 2, 3, 4, 5].map(async (i) => ({
            filename: `${offset + i}.jpg`,
            data: await makeJpeg({ width: 32, height: 32, seed: offset + i }),
          })),
        ),
      })
    const [a, b] = await Promise.all([batch(0), batch(100)])
    expect(a.uploaded.length + b.uploaded.length).toBe(10)
    const capSkips = [...a.skipped, ...b.skipped].filter((s) => s.reason === 'cap_exceeded')
    expect(capSkips).toHaveLength(2)
    expect((await darkroom.albums.get(alice, { id: album.id })).photoCount).toBe(10)
    // Refused files leave no blobs behind: 10 photos x (original + 3 variants).
    expect(await blobKeys(blobs)).toHaveLength(40)
    // A batch that cannot fit is refused whole, before any work.
    await expect(
      darkroom.photos.upload(alice, {
        albumId: album.id,
        files: [{ filename: 'x.png', data: await makePng() }],
      }),
    ).rejects.toMatchObject({ code: 'CAP_EXCEEDED', cap: { name: 'photoCap', limit: 10 } })
  })

  it('enforces the owner quota', async () => {
    const { darkroom } = await makeTestDarkroom()
    const admin = makeCaller('root', ['admin'])
    const data = await makeJpeg({ width: 64, height: 64, seed: 1 })
    await darkroom.owners.setQuota(admin, { ownerId: 'alice', quotaBytes: data.byteLength + 10 })
    await darkroom.photos.upload(alice, { files: [{ filename: '1.jpg', data }] })
    const second = await makeJpeg({ width: 64, height: 64, seed: 2 })
    await expect(
      darkroom.photos.upload(alice, { files: [{ filename: '2.jpg', data: second }] }),
    ).rejects.toMatchObject({ code: 'CAP_EXCEEDED', cap: { name: 'quotaBytes' } })
  })

  it('leaves no row and no blob when the blob store fails on its third write', async () => {
    class FailingBlobStore extends MemoryBlobStore {
      writes = 0
      override async put(...args: Parameters<MemoryBlobStore['put']>) {
        if (++this.writes === 3) throw new Error('disk on fire')
        return super.put(...args)
      }
    }
    const blobs = new FailingBlobStore()
    const { darkroom, store } = await makeTestDarkroom({ blobs })
    const error = await darkroom.photos
      .upload(alice, { files: [{ filename: 'a.jpg', data: await makeJpeg() }] })
      .catch((e: unknown) => e)
    expect((error as Error).message).toBe('disk on fire')
    expect(await blobKeys(blobs)).toEqual([])
    expect((await store.scanPhotos({ limit: 10 })).length).toBe(0)
  })

  it('restores a duplicate that is in the trash instead of refusing it', async () => {
    const { darkroom } = await makeTestDarkroom()
    const data = await makeJpeg()
    const first = (await darkroom.photos.upload(alice, { files: [{ filename: 'a.jpg', data }] }))
      .uploaded[0]!
    await darkroom.photos.delete(alice, { id: first.id })
    const again = await darkroom.photos.upload(alice, { files: [{ filename: 'a.jpg', data }] })
    expect(again.uploaded).toEqual([
      expect.objectContaining({ id: first.id, restored: true, deletedAt: null }),
    ])
  })

  it('keeps pending photos out of lists and purges them after the TTL', async () => {
    const { darkroom, clock, blobs } = await makeTestDarkroom({
      config: { pending: { ttlMs: 1000 } },
    })
    const { uploaded } = await darkroom.photos.upload(alice, {
      pending: true,
      files: [{ filename: 'p.jpg', data: await makeJpeg() }],
    })
    expect((await darkroom.photos.list(alice)).total).toBe(0)
    expect((await darkroom.photos.list(alice, { pending: true })).total).toBe(1)
    expect(await darkroom.maintenance.purgePending()).toEqual({ purged: 0 })
    clock.advance(1001)
    expect(await darkroom.maintenance.purgePending()).toEqual({ purged: 1 })
    await expect(darkroom.photos.get(alice, { id: uploaded[0]!.id })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
    expect(await blobKeys(blobs)).toEqual([])
  })

  it('sets the profile picture and attaches a post id (seed 000)', async () => {
    const { darkroom } = await makeTestDarkroom()
    const { uploaded } = await darkroom.photos.upload(alice, {
      setProfilePicture: true,
      postId: 'b50abae085ff0134029244b301d53d2d',
      files: [{ filename: 'me.jpg', data: await makeJpeg() }],
    })
    expect(asPhoto(uploaded[0]!).postId).toBe('b50abae085ff0134029244b301d53d2d')
    expect((await darkroom.owners.me(alice)).profilePhotoId).toBe(uploaded[0]!.id)
  })

  it('renders watermark variants when configured', async () => {
    const { darkroom } = await makeTestDarkroom({ config: { watermark: { text: '© Darkroom' } } })
    const { uploaded } = await darkroom.photos.upload(alice, {
      files: [{ filename: 'w.jpg', data: await makeJpeg({ width: 1600, height: 1200 }) }],
    })
    expect(asPhoto(uploaded[0]!).variants.watermark).toMatch(/watermark\.webp$/)
    expect(asPhoto(uploaded[0]!).variants.watermarkSmall).toMatch(/watermarkSmall\.webp$/)
  })

  it('sanitises hostile filenames and never uses them in blob keys', async () => {
    const { darkroom, blobs } = await makeTestDarkroom()
    const names = ['../../etc/passwd', 'a\u0000b.jpg', '\u202egpj.exe', '....', 'x'.repeat(5000)]
    const files = await Promise.all(
      names.map(async (filename, i) => ({ filename, data: await makeJpeg({ seed: i }) })),
    )
    const { uploaded } = await darkroom.photos.upload(alice, { files })
    expect(photosOf({ uploaded }).map((u) => u.filename)).toEqual([
      'passwd',
      'ab.jpg',
      'gpj.exe',
      'upload',
      'x'.repeat(255),
    ])
    for (const key of await blobKeys(blobs))
      expect(key).toMatch(/^photos\/[0-9a-f-]+\/[a-z]+(\.webp)?$/)
  })

  it('needs photos.write', async () => {
    const { darkroom } = await makeTestDarkroom()
    await expect(
      darkroom.photos.upload(makeCaller('alice', ['photos.read']), {
        files: [{ filename: 'a.jpg', data: await makeJpeg() }],
      }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' })
  })
})
