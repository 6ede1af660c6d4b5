import { Readable } from 'node:stream'
import { asPhoto, makeCaller } from '@darkroom/core/testing'
import { describe, expect, it } from 'vitest'
import { failure, jpeg, makeHarness, sha256, uploadForm } from '../internal/harness.test-utils.js'

/** Uploads `n` fresh JPEGs for the caller and returns the photos, in batch order. */
async function seed(h: Awaited<ReturnType<typeof makeHarness>>, n: number, albumId?: string) {
  const files = await Promise.all(
    Array.from({ length: n }, async (_, i) => ({
      name: `IMG_${String(i).padStart(3, '0')}.jpg`,
      bytes: await jpeg({ width: 40 + i, height: 30 }),
    })),
  )
  const form = uploadForm(files, albumId ? { albumId } : {})
  const { uploaded } = await h.alice.photos.upload(form)
  return uploaded.sort((a, b) => a.index - b.index)
}

describe('photos.upload (FormData)', () => {
  it('stores every file of the form, with the form fields applied', async () => {
    const h = await makeHarness()
    const album = await h.alice.albums.create({ title: 'Wedding' })
    const a = await jpeg({ width: 64, height: 48 })
    const b = await jpeg({ width: 30, height: 60, orientation: 6 })
    const form = uploadForm(
      [
        { name: 'a.jpg', bytes: a },
        { name: 'b.jpg', bytes: b },
      ],
      { albumId: album.id, category: 'ceremony', pending: 'false', postId: 'post-7' },
    )
    const result = await h.alice.photos.upload(form)
    expect(result.skipped).toEqual([])
    const [first, second] = result.uploaded.sort((x, y) => x.index - y.index)
    expect(first).toMatchObject({
      index: 0,
      restored: false,
      filename: 'a.jpg',
      ownerId: 'alice',
      albumId: album.id,
      category: 'ceremony',
      postId: 'post-7',
      pending: false,
      width: 64,
      height: 48,
      checksum: sha256(a),
    })
    // Orientation 6: displayed size is rotated.
    expect(second).toMatchObject({ filename: 'b.jpg', width: 60, height: 30, orientation: 6 })
    expect((await h.alice.albums.get({ id: album.id })).photoCount).toBe(2)
  })

  it('reads each file as a stream: core gets Node Readables, never one concatenated buffer', async () => {
    const seen: unknown[] = []
    const h = await makeHarness()
    const upload = h.darkroom.photos.upload
    Object.assign(h.darkroom.photos, {
      upload: (caller: never, input: { files: { data: unknown }[] }) => {
        seen.push(...input.files.map((f) => f.data))
        return upload(caller, input as never)
      },
    })
    await h.alice.photos.upload(
      uploadForm([
        { name: 'a.jpg', bytes: await jpeg() },
        { name: 'b.jpg', bytes: await jpeg() },
      ]),
    )
    expect(seen).toHaveLength(2)
    for (const data of seen) expect(data).toBeInstanceOf(Readable)
  })

  it('skips a duplicate with its reason and pending photos stay unlisted', async () => {
    const h = await makeHarness()
    const bytes = await jpeg()
    const first = await h.alice.photos.upload(
      uploadForm([{ name: 'x.jpg', bytes }], { pending: 'true' }),
    )
    expect(first.uploaded[0]!.pending).toBe(true)
    expect((await h.alice.photos.list()).total).toBe(0)
    const again = await h.alice.photos.upload(uploadForm([{ name: 'x-again.jpg', bytes }]))
    expect(again.uploaded).toEqual([])
    expect(again.skipped).toEqual([
      {
        index: 0,
        filename: 'x-again.jpg',
        reason: 'duplicate',
        message: expect.stringContaining(first.uploaded[0]!.id),
        existingId: first.uploaded[0]!.id,
      },
    ])
  })

  it('setProfilePicture and an empty albumId (none) are understood', async () => {
    const h = await makeHarness()
    const { uploaded } = await h.alice.photos.upload(
      uploadForm([{ name: 'me.jpg', bytes: await jpeg() }], {
        albumId: '',
        setProfilePicture: 'true',
      }),
    )
    expect(uploaded[0]!.albumId).toBeNull()
    expect((await h.darkroom.owners.me(makeCaller('alice'))).profilePhotoId).toBe(uploaded[0]!.id)
  })

  it('refuses a form without files, or a field that is not a file, as VALIDATION', async () => {
    const h = await makeHarness()
    const empty = await failure(h, h.alice.photos.upload(uploadForm([], { albumId: 'a' })))
    expect(empty.error.code).toBe('UNPROCESSABLE_CONTENT')
    expect(empty.shape.data.darkroom?.violations).toEqual([
      expect.objectContaining({ property: 'files', message: 'At least one file is required.' }),
    ])
    const form = new FormData()
    form.append('files', 'not a file')
    const notFile = await failure(h, h.alice.photos.upload(form))
    expect(notFile.shape.data.darkroom?.violations[0]?.property).toBe('files[0]')
    const badFlag = await failure(
      h,
      h.alice.photos.upload(
        uploadForm([{ name: 'a.jpg', bytes: await jpeg() }], { pending: 'maybe' }),
      ),
    )
    expect(badFlag.shape.data.darkroom?.violations[0]?.property).toBe('pending')
  })

  it('guest uploads: off by default; when on, anonymous may upload only, as the guest owner', async () => {
    const closed = await makeHarness()
    const form = async () => uploadForm([{ name: 'g.jpg', bytes: await jpeg() }])
    expect((await failure(closed, closed.anonymous.photos.upload(await form()))).error.code).toBe(
      'UNAUTHORIZED',
    )

    const open = await makeHarness({ guestUploads: { ownerId: 'guests' } })
    const { uploaded } = await open.anonymous.photos.upload(await form())
    // The guest may write but not read photos: a receipt, no photo data.
    expect(uploaded[0]).toEqual({
      id: expect.any(String),
      albumId: null,
      pending: false,
      withheld: true,
      index: 0,
      restored: false,
    })
    const stored = await open.darkroom.photos.get(makeCaller('guests'), { id: uploaded[0]!.id })
    expect(stored.ownerId).toBe('guests')
    // Only upload: the guest cannot list, read or delete.
    expect((await failure(open, open.anonymous.photos.list())).error.code).toBe('UNAUTHORIZED')
    expect(
      (await failure(open, open.anonymous.photos.get({ id: uploaded[0]!.id }))).error.code,
    ).toBe('UNAUTHORIZED')
    // An authenticated caller still uploads as itself.
    const own = await open.alice.photos.upload(await form())
    expect(asPhoto(own.uploaded[0]!).ownerId).toBe('alice')
  })
})

describe('photos: reading', () => {
  it('list filters, sorts and pages (offset and cursor)', async () => {
    const h = await makeHarness()
    const all = await seed(h, 5)
    const page = await h.alice.photos.list({ sort: 'filename', order: 'asc', limit: 2 })
    expect(page.total).toBe(5)
    expect(page.items.map((p) => p.filename)).toEqual(['IMG_000.jpg', 'IMG_001.jpg'])
    expect(page.nextCursor).toEqual(expect.any(String))
    const next = await h.alice.photos.list({
      sort: 'filename',
      order: 'asc',
      limit: 2,
      cursor: page.nextCursor!,
    })
    expect(next.items.map((p) => p.filename)).toEqual(['IMG_002.jpg', 'IMG_003.jpg'])
    const byOffset = await h.alice.photos.list({ sort: 'filename', limit: 2, offset: 4 })
    expect(byOffset.items.map((p) => p.id)).toEqual([all[4]!.id])
    expect((await h.alice.photos.list({ search: 'img_003' })).total).toBe(1)
    expect((await h.alice.photos.list()).items).toHaveLength(5)
  })

  it('get returns the photo exactly as core does; countView counts', async () => {
    const h = await makeHarness()
    const [photo] = await seed(h, 1)
    const got = await h.alice.photos.get({ id: photo!.id })
    expect(got).toEqual(await h.darkroom.photos.get(makeCaller('alice'), { id: photo!.id }))
    expect(got.variants.original).toEqual(expect.any(String))
    expect((await h.alice.photos.get({ id: photo!.id, countView: true })).views).toBe(1)
  })

  it('getMany keeps the order asked and leaves out missing and foreign ids', async () => {
    const h = await makeHarness()
    const [a, b] = await seed(h, 2)
    const bobs = await h.bob.photos.upload(uploadForm([{ name: 'b.jpg', bytes: await jpeg() }]))
    const got = await h.alice.photos.getMany({
      ids: [b!.id, 'missing', bobs.uploaded[0]!.id, a!.id],
    })
    expect(got.map((p) => p.id)).toEqual([b!.id, a!.id])
  })

  it('alice cannot see, change or delete bob’s photos: NOT_FOUND, like a missing one', async () => {
    const h = await makeHarness()
    const { uploaded } = await h.bob.photos.upload(
      uploadForm([{ name: 'bob.jpg', bytes: await jpeg() }]),
    )
    const id = uploaded[0]!.id
    for (const call of [
      h.alice.photos.get({ id }),
      h.alice.photos.update({ id, description: 'mine now' }),
      h.alice.photos.delete({ id }),
      h.alice.photos.move({ id, albumId: null }),
    ]) {
      const { error, shape } = await failure(h, call)
      expect(error.code).toBe('NOT_FOUND')
      expect(shape.data.httpStatus).toBe(404)
      expect(shape.data.darkroom?.code).toBe('NOT_FOUND')
    }
    expect((await h.alice.photos.list()).total).toBe(0)
    expect((await h.bob.photos.get({ id })).description).toBe('')
  })
})

describe('photos: changing', () => {
  it('update changes description, visibility, category and dimensions', async () => {
    const h = await makeHarness()
    const [photo] = await seed(h, 1)
    const updated = await h.alice.photos.update({
      id: photo!.id,
      description: 'Sunset',
      isPublic: true,
      hidden: true,
      category: 'beach',
      width: 400,
      height: 200,
    })
    expect(updated).toMatchObject({
      description: 'Sunset',
      isPublic: true,
      hidden: true,
      category: 'beach',
      width: 400,
      height: 200,
      ratio: 2,
    })
  })

  it('move to an album and out, and copy', async () => {
    const h = await makeHarness()
    const [photo] = await seed(h, 1)
    const album = await h.alice.albums.create({ title: 'Trip' })
    expect((await h.alice.photos.move({ id: photo!.id, albumId: album.id })).albumId).toBe(album.id)
    expect((await h.alice.photos.move({ id: photo!.id, albumId: null })).albumId).toBeNull()
    const copy = await h.alice.photos.move({ id: photo!.id, albumId: album.id, copy: true })
    expect(copy.id).not.toBe(photo!.id)
    expect(copy.albumId).toBe(album.id)
    expect((await h.alice.photos.list()).total).toBe(2)
  })

  it('reorder places a photo before or after another', async () => {
    const h = await makeHarness()
    const album = await h.alice.albums.create({ title: 'Ordered' })
    await seed(h, 3, album.id)
    const order = async () =>
      (await h.alice.photos.list({ albumId: album.id, sort: 'position' })).items.map((p) => p.id)
    // A batch's files are stored concurrently: take the order they ended up in.
    const [a, b, c] = await order()
    await h.alice.photos.reorder({ id: c!, before: a! })
    expect(await order()).toEqual([c, a, b])
    await h.alice.photos.reorder({ id: c!, after: b! })
    expect(await order()).toEqual([a, b, c])
  })

  it('delete (soft, restorable; hard), bulkDelete and restore', async () => {
    const h = await makeHarness()
    const [a, b, c] = await seed(h, 3)
    expect(await h.alice.photos.delete({ id: a!.id })).toEqual({ id: a!.id, hard: false })
    expect((await h.alice.photos.list({ trashed: true })).items.map((p) => p.id)).toEqual([a!.id])
    expect(asPhoto(await h.alice.photos.restore({ id: a!.id })).deletedAt).toBeNull()
    expect(await h.alice.photos.delete({ id: a!.id, hard: true })).toEqual({
      id: a!.id,
      hard: true,
    })
    expect((await failure(h, h.alice.photos.get({ id: a!.id }))).error.code).toBe('NOT_FOUND')
    const bulk = await h.alice.photos.bulkDelete({ ids: [b!.id, c!.id, 'missing'] })
    expect(bulk).toMatchObject({ deleted: 2, failed: 1 })
    expect(bulk.failures).toEqual([expect.objectContaining({ id: 'missing', code: 'NOT_FOUND' })])
  })

  it('repairDimensions fixes wrong dimensions from the stored original', async () => {
    const h = await makeHarness()
    const [photo] = await seed(h, 1)
    await h.store.updatePhoto(photo!.id, { width: 1, height: null })
    const result = await h.alice.photos.repairDimensions()
    expect(result).toEqual({ scanned: 1, repaired: 1, failed: 0, failures: [], keptManual: 0 })
    expect(await h.alice.photos.get({ id: photo!.id })).toMatchObject({ width: 40, height: 30 })
    expect(await h.alice.photos.repairDimensions({ onlyMissing: true })).toMatchObject({
      scanned: 0,
    })
    await h.alice.photos.update({ id: photo!.id, width: 400, height: 300 })
    expect(await h.alice.photos.repairDimensions()).toMatchObject({ repaired: 0, keptManual: 1 })
    expect(await h.alice.photos.repairDimensions({ overrideManual: true })).toMatchObject({
      repaired: 1,
      keptManual: 0,
    })
    expect(await h.alice.photos.get({ id: photo!.id })).toMatchObject({ width: 40, height: 30 })
  })

  it('react: like, rate and comment, with counters; listComments', async () => {
    const h = await makeHarness()
    const [photo] = await seed(h, 1)
    await h.alice.photos.update({ id: photo!.id, isPublic: true })
    const liked = await h.bob.photos.react({ id: photo!.id, like: true, rating: 4 })
    expect(liked).toMatchObject({ likes: 1, ratingCount: 1, ratingAvg: 4 })
    const commented = await h.alice.photos.react({ id: photo!.id, comment: 'Lovely', rating: 2 })
    expect(commented).toMatchObject({ commentCount: 1, ratingCount: 2, ratingAvg: 3 })
    expect(await h.bob.photos.listComments({ id: photo!.id })).toEqual([
      expect.objectContaining({ authorId: 'alice', body: 'Lovely', createdAt: expect.any(String) }),
    ])
  })
})
