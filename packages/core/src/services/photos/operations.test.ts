import { describe, expect, it } from 'vitest'
import type { Darkroom } from '../../darkroom.js'
import { MAX_POSITION_LENGTH } from '../../domain/position.js'
import type { Caller, Photo } from '../../domain/types.js'
import {
  asPhoto,
  ManualClock,
  makeCaller,
  makeJpeg,
  makeTestDarkroom,
  photosOf,
} from '../../testing/index.js'

const alice = makeCaller('alice')
const bob = makeCaller('bob')

async function seed(darkroom: Darkroom, caller: Caller, n: number, albumId: string | null = null) {
  const files = await Promise.all(
    Array.from({ length: n }, async (_, i) => ({
      filename: `IMG_${String(i).padStart(3, '0')}.jpg`,
      data: await makeJpeg({ width: 40 + i, height: 30, seed: i + (albumId ? 1000 : 0) }),
    })),
  )
  const uploaded = photosOf(await darkroom.photos.upload(caller, { albumId, files }))
  return uploaded.sort((a, b) => a.index - b.index)
}

async function blobKeys(blobs: { list(prefix: string): AsyncIterable<{ key: string }> }) {
  const keys: string[] = []
  for await (const blob of blobs.list('photos/')) keys.push(blob.key)
  return keys.sort()
}

describe('photos.list', () => {
  it('pages by offset and by keyset cursor, visiting every photo once', async () => {
    const { darkroom } = await makeTestDarkroom({ config: { concurrency: 1 } })
    const all = await seed(darkroom, alice, 7)
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await darkroom.photos.list(alice, {
        sort: 'filename',
        order: 'asc',
        limit: 3,
        ...(cursor ? { cursor } : {}),
      })
      expect(page.total).toBe(all.length)
      seen.push(...page.items.map((p) => p.id))
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    expect(seen).toHaveLength(all.length)
    expect(new Set(seen).size).toBe(all.length)
    const byOffset = await darkroom.photos.list(alice, {
      sort: 'filename',
      order: 'asc',
      limit: 3,
      offset: 3,
    })
    expect(byOffset.items.map((p) => p.id)).toEqual(seen.slice(3, 6))
  })

  it("answers NOT_FOUND for an album that is missing or not the caller's", async () => {
    const { darkroom } = await makeTestDarkroom({ config: { concurrency: 1 } })
    const album = await darkroom.albums.create(alice, { title: 'Mine' })
    await seed(darkroom, alice, 1, album.id)
    expect((await darkroom.photos.list(alice, { albumId: album.id })).total).toBe(1)
    const missing = '00000000-0000-7000-8000-00000000ffff'
    for (const [caller, albumId] of [
      [bob, album.id],
      [alice, missing],
    ] as const) {
      await expect(darkroom.photos.list(caller, { albumId })).rejects.toMatchObject({
        code: 'NOT_FOUND',
        message: expect.stringContaining(albumId),
      })
    }
    // Outside any album, or every album: no album to look up.
    expect((await darkroom.photos.list(bob, { albumId: null })).total).toBe(0)
    expect((await darkroom.photos.list(bob)).total).toBe(0)
  })

  it('counts the total on the first page and carries it in the cursor, not counting again', async () => {
    const { darkroom } = await makeTestDarkroom({ config: { concurrency: 1 } })
    await seed(darkroom, alice, 5)
    const first = await darkroom.photos.list(alice, { sort: 'filename', limit: 2 })
    expect(first.total).toBe(5)
    await darkroom.photos.upload(alice, {
      files: [{ filename: 'late.jpg', data: await makeJpeg({ width: 90, height: 30, seed: 77 }) }],
    })
    const second = await darkroom.photos.list(alice, {
      sort: 'filename',
      limit: 2,
      cursor: first.nextCursor!,
    })
    // A snapshot of the first page's count: the photo added since is not counted again.
    expect(second.total).toBe(5)
    expect((await darkroom.photos.list(alice, { sort: 'filename', limit: 2 })).total).toBe(6)
  })

  it('filters by album, category, hidden and search, and sorts by size desc', async () => {
    const { darkroom } = await makeTestDarkroom()
    const album = await darkroom.albums.create(alice, { title: 'Ceremony' })
    const inAlbum = await seed(darkroom, alice, 3, album.id)
    const loose = await seed(darkroom, alice, 2)
    await darkroom.photos.update(alice, {
      id: inAlbum[0]!.id,
      hidden: true,
      category: 'ceremony',
      description: 'First kiss',
    })
    expect((await darkroom.photos.list(alice, { albumId: album.id })).total).toBe(3)
    expect(
      (await darkroom.photos.list(alice, { albumId: null })).items.map((p) => p.id).sort(),
    ).toEqual(loose.map((p) => p.id).sort())
    expect((await darkroom.photos.list(alice, { hidden: true })).items.map((p) => p.id)).toEqual([
      inAlbum[0]!.id,
    ])
    expect((await darkroom.photos.list(alice, { category: 'ceremony' })).total).toBe(1)
    expect((await darkroom.photos.list(alice, { search: 'KISS' })).total).toBe(1)
    const bySize = await darkroom.photos.list(alice, { sort: 'size', order: 'desc' })
    const sizes = bySize.items.map((p) => p.size)
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a))
  })

  it('refuses bad input with violations', async () => {
    const { darkroom } = await makeTestDarkroom()
    await expect(darkroom.photos.list(alice, { limit: 500 })).rejects.toMatchObject({
      code: 'VALIDATION',
      violations: [expect.objectContaining({ property: 'limit' })],
    })
    await expect(darkroom.photos.list(alice, { sort: 'nope' as never })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    await expect(darkroom.photos.list(alice, { cursor: 'garbage!' })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    await expect(
      darkroom.photos.getMany(alice, { ids: Array.from({ length: 201 }, (_, i) => String(i)) }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    })
  })
})

describe('photos.reorder', () => {
  it('moves a photo between two others writing one row, and new photos go last', async () => {
    const { darkroom, events } = await makeTestDarkroom({ config: { concurrency: 1 } })
    const album = await darkroom.albums.create(alice, { title: 'A' })
    const [a, b, c, d] = await seed(darkroom, alice, 4, album.id)
    const order = async () =>
      (await darkroom.photos.list(alice, { albumId: album.id, sort: 'position' })).items.map(
        (p) => p.filename,
      )
    expect(await order()).toEqual(['IMG_000.jpg', 'IMG_001.jpg', 'IMG_002.jpg', 'IMG_003.jpg'])
    events.length = 0
    await darkroom.photos.reorder(alice, { id: d!.id, after: a!.id })
    expect(await order()).toEqual(['IMG_000.jpg', 'IMG_003.jpg', 'IMG_001.jpg', 'IMG_002.jpg'])
    await darkroom.photos.reorder(alice, { id: a!.id, before: c!.id })
    expect(await order()).toEqual(['IMG_003.jpg', 'IMG_001.jpg', 'IMG_000.jpg', 'IMG_002.jpg'])
    await darkroom.photos.reorder(alice, { id: b!.id, after: c!.id })
    expect(await order()).toEqual(['IMG_003.jpg', 'IMG_000.jpg', 'IMG_002.jpg', 'IMG_001.jpg'])
    expect(events.map((e) => e.subjectId)).toEqual([d!.id, a!.id, b!.id])
    await expect(darkroom.photos.reorder(alice, { id: a!.id, after: a!.id })).rejects.toMatchObject(
      { code: 'VALIDATION' },
    )
    await expect(darkroom.photos.reorder(bob, { id: a!.id, after: b!.id })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
  })

  it('keeps a consistent order after many random moves', async () => {
    const { darkroom } = await makeTestDarkroom({ config: { concurrency: 1 } })
    const album = await darkroom.albums.create(alice, { title: 'A' })
    const photos = await seed(darkroom, alice, 6, album.id)
    const model = photos.map((p) => p.id)
    let state = 7
    const rand = (n: number) => (state = (state * 1103515245 + 12345) % 2147483648) % n
    for (let i = 0; i < 60; i++) {
      const id = model[rand(model.length)]!
      const rest = model.filter((x) => x !== id)
      const anchor = rest[rand(rest.length)]!
      const after = rand(2) === 0
      await darkroom.photos.reorder(alice, after ? { id, after: anchor } : { id, before: anchor })
      rest.splice(rest.indexOf(anchor) + (after ? 1 : 0), 0, id)
      model.splice(0, model.length, ...rest)
    }
    const listed = (
      await darkroom.photos.list(alice, { albumId: album.id, sort: 'position' })
    ).items.map((p) => p.id)
    expect(listed).toEqual(model)
  })
})

describe('photos.reorder position keys', () => {
  it('stay within MAX_POSITION_LENGTH under 2,000 adversarial moves into one gap, in order', async () => {
    const { darkroom } = await makeTestDarkroom({ config: { concurrency: 1 } })
    const album = await darkroom.albums.create(alice, { title: 'A' })
    const photos = await seed(darkroom, alice, 24, album.id)
    // One in the trash still holds its place among the re-spaced neighbours.
    await darkroom.photos.delete(alice, { id: photos[3]!.id })
    const model = photos.map((p) => p.id)
    const [first, x, y] = [model[0]!, model[10]!, model[11]!]
    let longest = 0
    for (let i = 0; i < 2000; i++) {
      // Always right after the first photo, two photos in turn: the gap there only narrows.
      const id = i % 2 === 0 ? x : y
      const moved = asPhoto(await darkroom.photos.reorder(alice, { id, after: first }))
      longest = Math.max(longest, moved.position.length)
      model.splice(model.indexOf(id), 1)
      model.splice(1, 0, id)
    }
    await darkroom.photos.restore(alice, { id: photos[3]!.id })
    const listed = (
      await darkroom.photos.list(alice, { albumId: album.id, sort: 'position', limit: 200 })
    ).items
    expect(listed.map((p) => p.id)).toEqual(model)
    const keys = listed.map((p) => p.position)
    expect(Math.max(...keys.map((k) => k.length))).toBeLessThanOrEqual(MAX_POSITION_LENGTH)
    expect(longest).toBeLessThanOrEqual(MAX_POSITION_LENGTH)
    expect(new Set(keys).size).toBe(keys.length)
  })
})

describe('photos.move, delete, restore', () => {
  it('copies share their source blobs: a delete in any order keeps them while a row uses them', async () => {
    const { darkroom, blobs, clock } = await makeTestDarkroom()
    const a1 = await darkroom.albums.create(alice, { title: 'One' })
    const a2 = await darkroom.albums.create(alice, { title: 'Two' })
    const [p] = await seed(darkroom, alice, 1)
    const keysBefore = await blobKeys(blobs)
    const copy = await darkroom.photos.move(alice, { id: p!.id, albumId: a1.id, copy: true })
    const copyOfCopy = await darkroom.photos.move(alice, {
      id: copy.id,
      albumId: a2.id,
      copy: true,
    })
    expect(await blobKeys(blobs)).toEqual(keysBefore)
    // Quota counts each copy's bytes.
    expect((await darkroom.owners.me(alice)).usedBytes).toBe(p!.size * 3)
    const sweep = () => darkroom.maintenance.sweepOrphans({ olderThanMs: -1e12 })
    await darkroom.photos.delete(alice, { id: p!.id, hard: true })
    await darkroom.photos.delete(alice, { id: copy.id })
    await sweep()
    clock.advance(40 * 24 * 3_600_000)
    await darkroom.maintenance.purgeTrash()
    await sweep()
    expect(await blobKeys(blobs)).toEqual(keysBefore)
    const opened = await darkroom.photos.openBlob(alice, { id: copyOfCopy.id, variant: 'original' })
    opened.stream.destroy()
    await darkroom.photos.delete(alice, { id: copyOfCopy.id, hard: true })
    expect(await blobKeys(blobs)).toEqual([])
  })

  it('moves to another album or none, and copies', async () => {
    const { darkroom, blobs } = await makeTestDarkroom()
    const a1 = await darkroom.albums.create(alice, { title: 'One' })
    const a2 = await darkroom.albums.create(alice, { title: 'Two', photoCap: 1 })
    const [p] = await seed(darkroom, alice, 1, a1.id)
    const moved = await darkroom.photos.move(alice, { id: p!.id, albumId: a2.id })
    expect(moved.albumId).toBe(a2.id)
    const copy = await darkroom.photos.move(alice, { id: p!.id, albumId: a1.id, copy: true })
    expect(copy.id).not.toBe(p!.id)
    expect(await blobs.stat(`photos/${copy.id}/original`)).toBeNull()
    // a2 is at its cap of 1
    await expect(
      darkroom.photos.move(alice, { id: copy.id, albumId: a2.id }),
    ).rejects.toMatchObject({ code: 'CAP_EXCEEDED' })
    await expect(
      darkroom.photos.move(alice, { id: copy.id, albumId: a2.id, copy: true }),
    ).rejects.toMatchObject({
      code: 'CAP_EXCEEDED',
    })
    const out = await darkroom.photos.move(alice, { id: p!.id, albumId: null })
    expect(out.albumId).toBeNull()
    await expect(darkroom.photos.move(bob, { id: p!.id, albumId: null })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
    const bobAlbum = await darkroom.albums.create(bob, { title: 'Bob' })
    await expect(
      darkroom.photos.move(alice, { id: p!.id, albumId: bobAlbum.id }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('soft deletes to the trash, restores, hard deletes every blob, or keeps them on disk', async () => {
    const { darkroom, blobs, events } = await makeTestDarkroom()
    const [p, q] = await seed(darkroom, alice, 2)
    await darkroom.photos.delete(alice, { id: p!.id })
    expect((await darkroom.photos.list(alice)).total).toBe(1)
    expect((await darkroom.photos.list(alice, { trashed: true })).items[0]!.id).toBe(p!.id)
    await darkroom.photos.restore(alice, { id: p!.id })
    expect((await darkroom.photos.list(alice)).total).toBe(2)
    await darkroom.photos.delete(alice, { id: p!.id, hard: true })
    await darkroom.photos.delete(alice, { id: q!.id, hard: true, preserveOnDisk: true })
    const keys: string[] = []
    for await (const b of blobs.list()) keys.push(b.key)
    expect(keys.every((k) => k.startsWith(`photos/${q!.id}/`))).toBe(true)
    expect(keys).toHaveLength(4)
    await expect(darkroom.photos.get(alice, { id: p!.id })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
    expect(events.filter((e) => e.type === 'photo.deleted')).toHaveLength(3)
  })

  it('bulk deletes with per-photo events and a summary, counting foreign ids as failed', async () => {
    const { darkroom, events } = await makeTestDarkroom()
    const mine = await seed(darkroom, alice, 3)
    const [theirs] = await seed(darkroom, bob, 1)
    events.length = 0
    const result = await darkroom.photos.bulkDelete(alice, {
      ids: [...mine.map((p) => p.id), theirs!.id],
      hard: true,
    })
    expect(result).toMatchObject({
      deleted: 3,
      failed: 1,
      failures: [{ id: theirs!.id, code: 'NOT_FOUND' }],
    })
    expect(events.map((e) => e.type)).toEqual([
      'photo.deleted',
      'photo.deleted',
      'photo.deleted',
      'photos.bulk_deleted',
    ])
    await expect(darkroom.photos.get(bob, { id: theirs!.id })).resolves.toMatchObject({
      id: theirs!.id,
    })
  })
})

describe('isolation', () => {
  it("hides another owner's photos and albums exactly like missing ones", async () => {
    const { darkroom } = await makeTestDarkroom()
    const [p] = await seed(darkroom, alice, 1)
    const album = await darkroom.albums.create(alice, { title: 'Private' })
    const missing = '00000000-0000-7000-8000-ffffffffffff'
    for (const id of [p!.id, missing]) {
      await expect(darkroom.photos.get(bob, { id })).rejects.toMatchObject({ code: 'NOT_FOUND' })
      await expect(darkroom.photos.update(bob, { id, hidden: true })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      })
      await expect(darkroom.photos.delete(bob, { id, hard: true })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      })
      await expect(darkroom.photos.react(bob, { id, like: true })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      })
      await expect(
        darkroom.photos.openBlob(bob, { id, variant: 'original' }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' })
    }
    expect(await darkroom.photos.getMany(bob, { ids: [p!.id] })).toEqual([])
    expect((await darkroom.photos.list(bob)).total).toBe(0)
    await expect(darkroom.albums.get(bob, { id: album.id })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
    await expect(
      darkroom.photos.upload(bob, {
        albumId: album.id,
        files: [{ filename: 'x.jpg', data: await makeJpeg() }],
      }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' })
    // A public photo is readable by others, and they can react to it.
    await darkroom.photos.update(alice, { id: p!.id, isPublic: true })
    await expect(darkroom.photos.get(bob, { id: p!.id })).resolves.toMatchObject({ id: p!.id })
    await expect(darkroom.photos.update(bob, { id: p!.id, hidden: true })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
  })

  it('needs the right scopes', async () => {
    const { darkroom } = await makeTestDarkroom()
    const reader = makeCaller('alice', ['photos.read'])
    await expect(darkroom.albums.create(reader, { title: 'x' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    await expect(darkroom.photos.list(makeCaller('alice', []))).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    await expect(
      darkroom.owners.setQuota(alice, { ownerId: 'alice', quotaBytes: 1 }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    await expect(darkroom.photos.list(reader)).resolves.toMatchObject({ total: 0 })
  })
})

describe('photos.react and counters', () => {
  it('counts likes once per person, averages ratings, counts comments, views and downloads', async () => {
    const { darkroom } = await makeTestDarkroom()
    const [p] = await seed(darkroom, alice, 1)
    await darkroom.photos.update(alice, { id: p!.id, isPublic: true })
    await darkroom.photos.react(alice, { id: p!.id, like: true, rating: 5 })
    await darkroom.photos.react(alice, { id: p!.id, like: true, rating: 3 })
    const after = await darkroom.photos.react(bob, {
      id: p!.id,
      like: true,
      rating: 4,
      comment: 'Lovely',
    })
    expect(after).toMatchObject({ likes: 2, ratingCount: 2, ratingAvg: 3.5, commentCount: 1 })
    await expect(darkroom.photos.react(bob, { id: p!.id, rating: 6 })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    await darkroom.photos.get(bob, { id: p!.id, countView: true })
    const blob = await darkroom.photos.openBlob(alice, { id: p!.id, variant: 'original' })
    blob.stream.resume()
    expect(await darkroom.photos.get(alice, { id: p!.id })).toMatchObject({
      views: 1,
      downloads: 1,
    })
    expect(await darkroom.photos.listComments(alice, { id: p!.id })).toEqual([
      expect.objectContaining({ authorId: 'bob', body: 'Lovely' }),
    ])
  })
})

describe('openBlob', () => {
  it('counts a download for the whole original only, and checks the extension asked for', async () => {
    const { darkroom } = await makeTestDarkroom()
    const [p] = await seed(darkroom, alice, 1)
    const size = p!.size
    const open = async (input: Omit<Parameters<Darkroom['photos']['openBlob']>[1], 'id'>) => {
      const opened = await darkroom.photos.openBlob(alice, { id: p!.id, ...input })
      opened.stream.destroy()
      return opened
    }
    await open({ variant: 'original', range: { start: 0, end: 99 } })
    await open({ variant: 'original', range: { start: 1 } })
    await open({ variant: 'original', countDownload: false })
    await open({ variant: 'small' })
    expect((await darkroom.photos.get(alice, { id: p!.id })).downloads).toBe(0)
    await open({ variant: 'original' })
    await open({ variant: 'original', range: { start: 0 } })
    await open({ variant: 'original', range: { start: 0, end: size - 1 } })
    expect((await darkroom.photos.get(alice, { id: p!.id })).downloads).toBe(3)

    expect(await open({ variant: 'original', extension: 'jpeg' })).toMatchObject({
      extension: 'jpg',
      mimeType: 'image/jpeg',
    })
    expect(await open({ variant: 'small', extension: 'webp' })).toMatchObject({ extension: 'webp' })
    await expect(open({ variant: 'original', extension: 'png' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('original is image/jpeg: use .jpg'),
    })
    // The refused extension counted nothing; the `.jpeg` one was a whole original.
    expect((await darkroom.photos.get(alice, { id: p!.id })).downloads).toBe(4)
  })
})

describe('repairDimensions and sweepOrphans', () => {
  it('fixes rows whose dimensions are missing or wrong from the stored original', async () => {
    const { darkroom, store } = await makeTestDarkroom()
    const [p, q, r] = await seed(darkroom, alice, 3)
    await store.updatePhoto(p!.id, { width: null, height: null })
    await store.updatePhoto(q!.id, { width: 4134, height: 5906 })
    expect(await darkroom.photos.repairDimensions(alice, { onlyMissing: true })).toMatchObject({
      scanned: 1,
      repaired: 1,
      failed: 0,
    })
    expect(await darkroom.photos.repairDimensions(alice)).toMatchObject({
      scanned: 3,
      repaired: 1,
      failed: 0,
    })
    expect(await darkroom.photos.get(alice, { id: q!.id })).toMatchObject({
      width: q!.width,
      height: q!.height,
    })
    expect(await darkroom.photos.repairDimensions(alice)).toMatchObject({ scanned: 3, repaired: 0 })
    expect(r).toBeTruthy()
  })

  it('runs once for a flood of calls: identical ones join the run under way, others wait for it', async () => {
    const { darkroom, store } = await makeTestDarkroom()
    const [p] = await seed(darkroom, alice, 3)
    await store.updatePhoto(p!.id, { width: null, height: null })
    let scans = 0
    const scan = store.scanPhotos.bind(store)
    store.scanPhotos = (query) => {
      scans++
      return scan(query)
    }
    const flood = await Promise.all(
      Array.from({ length: 600 }, () => darkroom.photos.repairDimensions(alice)),
    )
    // Two pages (the photos, then an empty one) for the one run.
    expect(scans).toBe(2)
    expect(flood.every((r) => r.repaired === 1 && r.scanned === 3)).toBe(true)
    // Other options wait for it, then run on their own.
    const [a, b] = await Promise.all([
      darkroom.photos.repairDimensions(alice),
      darkroom.photos.repairDimensions(alice, { onlyMissing: true }),
    ])
    expect(a).toMatchObject({ scanned: 3, repaired: 0 })
    expect(b).toMatchObject({ scanned: 0, repaired: 0 })
  })

  it('emits photo.updated for each photo it repairs, with what changed', async () => {
    const { darkroom, store, events } = await makeTestDarkroom()
    const [p, q, r] = await seed(darkroom, alice, 3)
    await store.updatePhoto(p!.id, { width: null, height: null })
    await store.updatePhoto(q!.id, { orientation: 6 })
    events.length = 0
    expect(await darkroom.photos.repairDimensions(alice)).toMatchObject({ repaired: 2 })
    const updates = events.filter((e) => e.type === 'photo.updated')
    expect(updates.map((e) => e.subjectId).sort()).toEqual([p!.id, q!.id].sort())
    expect(updates.find((e) => e.subjectId === p!.id)!.data).toMatchObject({
      photo: { id: p!.id, width: p!.width, height: p!.height },
      changed: ['width', 'height'],
      reason: 'repair_dimensions',
    })
    expect(updates.find((e) => e.subjectId === q!.id)!.data).toMatchObject({
      changed: ['orientation'],
    })
    expect(events.some((e) => e.subjectId === r!.id)).toBe(false)
  })

  it('keeps a manual dimension fix unless overrideManual asks to re-read it', async () => {
    const { darkroom, events } = await makeTestDarkroom()
    const [p, q] = await seed(darkroom, alice, 2)
    await darkroom.photos.update(alice, { id: p!.id, width: 1200, height: 900 })

    expect(await darkroom.photos.repairDimensions(alice)).toMatchObject({
      scanned: 1,
      repaired: 0,
      failed: 0,
      keptManual: 1,
    })
    expect(await darkroom.photos.get(alice, { id: p!.id })).toMatchObject({
      width: 1200,
      height: 900,
    })
    expect(await darkroom.photos.repairDimensions(alice, { onlyMissing: true })).toMatchObject({
      repaired: 0,
    })
    expect((await darkroom.photos.get(alice, { id: p!.id })).width).toBe(1200)

    events.length = 0
    expect(await darkroom.photos.repairDimensions(alice, { overrideManual: true })).toMatchObject({
      scanned: 2,
      repaired: 1,
      keptManual: 0,
    })
    expect(await darkroom.photos.get(alice, { id: p!.id })).toMatchObject({
      width: p!.width,
      height: p!.height,
    })
    expect(events.map((e) => [e.type, e.subjectId])).toEqual([['photo.updated', p!.id]])
    // Re-read once, the row is no longer manual: a plain repair looks at it again.
    expect(await darkroom.photos.repairDimensions(alice)).toMatchObject({
      scanned: 2,
      keptManual: 0,
    })
    expect(q).toBeTruthy()
  })

  it('counts a missing original as failed', async () => {
    const { darkroom, blobs } = await makeTestDarkroom()
    const [p] = await seed(darkroom, alice, 1)
    await blobs.delete(`photos/${p!.id}/original`)
    expect(await darkroom.photos.repairDimensions(alice)).toMatchObject({
      scanned: 1,
      repaired: 0,
      failed: 1,
    })
  })

  it('removes blobs no row references, sparing young ones', async () => {
    // The blob store stamps real time, so the clock starts at real time too.
    const { darkroom, blobs, clock } = await makeTestDarkroom({
      clock: new ManualClock(Date.now()),
    })
    const [p] = await seed(darkroom, alice, 1)
    await blobs.put('photos/00000000-0000-7000-8000-0000000000aa/original', Buffer.from('orphan'))
    await blobs.put(`photos/${p!.id}/stale.webp`, Buffer.from('left behind'))
    expect((await darkroom.maintenance.sweepOrphans()).orphans).toEqual([])
    clock.advance(2 * 60 * 60 * 1000)
    const swept = await darkroom.maintenance.sweepOrphans({ olderThanMs: 0 })
    expect(swept.orphans.sort()).toEqual(
      ['photos/00000000-0000-7000-8000-0000000000aa/original', `photos/${p!.id}/stale.webp`].sort(),
    )
    expect(await blobs.stat(`photos/${p!.id}/original`)).not.toBeNull()
  })

  it('leaves the blobs of a photo deleted with preserveOnDisk to the sweep, however old', async () => {
    const { darkroom, blobs, clock } = await makeTestDarkroom({
      clock: new ManualClock(Date.now()),
    })
    const [kept, gone] = await seed(darkroom, alice, 2)
    await darkroom.photos.delete(alice, { id: kept!.id, hard: true, preserveOnDisk: true })
    await darkroom.photos.bulkDelete(alice, { ids: [gone!.id], hard: true, preserveOnDisk: true })
    const keys = async (id: string) => {
      const out: string[] = []
      for await (const blob of blobs.list(`photos/${id}/`)) out.push(blob.key)
      return out.sort()
    }
    const preserved = [...(await keys(kept!.id)), ...(await keys(gone!.id))]
    expect(preserved.length).toBeGreaterThanOrEqual(4)
    await blobs.put('photos/00000000-0000-7000-8000-0000000000ab/original', Buffer.from('orphan'))

    clock.advance(2 * 60 * 60 * 1000)
    const swept = await darkroom.maintenance.sweepOrphans({ olderThanMs: 0 })

    expect(swept.orphans).toEqual(['photos/00000000-0000-7000-8000-0000000000ab/original'])
    expect([...(await keys(kept!.id)), ...(await keys(gone!.id))]).toEqual(preserved)
    expect(await darkroom.maintenance.sweepOrphans({ olderThanMs: 0 })).toMatchObject({
      orphans: [],
    })
  })
})

describe('albums', () => {
  it('creates, lists with counts, updates and deletes, keeping the photos', async () => {
    const { darkroom } = await makeTestDarkroom()
    const album = await darkroom.albums.create(alice, { title: ' Wedding ', photoCap: 500 })
    expect(album).toMatchObject({ title: 'Wedding', photoCap: 500, photoCount: 0 })
    const [p] = await seed(darkroom, alice, 1, album.id)
    expect(await darkroom.albums.list(alice)).toEqual([
      expect.objectContaining({ id: album.id, photoCount: 1 }),
    ])
    const updated = await darkroom.albums.update(alice, {
      id: album.id,
      title: 'Reception',
      coverPhotoId: p!.id,
    })
    expect(updated).toMatchObject({ title: 'Reception', coverPhotoId: p!.id })
    await expect(darkroom.albums.create(alice, { title: '' })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    await darkroom.albums.delete(alice, { id: album.id })
    expect(await darkroom.photos.get(alice, { id: p!.id })).toMatchObject({ albumId: null })
    expect(await darkroom.albums.list(alice)).toEqual([])
  })
})

describe('answers to a caller without photos.read', () => {
  it('every write answers a receipt (no photo data); events still carry the photo', async () => {
    const { darkroom, events } = await makeTestDarkroom()
    const writer = makeCaller('alice', ['photos.write'])
    const album = await darkroom.albums.create(alice, { title: 'A' })
    const gps = { lat: 48.858233, lon: 2.294481 }
    const files = [1, 2].map(async (seed) => ({
      filename: `secret-${seed}.jpg`,
      data: await makeJpeg({ seed, make: 'SecretCam', gps }),
    }))
    const { uploaded } = await darkroom.photos.upload(writer, {
      albumId: album.id,
      files: await Promise.all(files),
    })
    const receipt = (id: string, albumId: string | null = album.id) => ({
      id,
      albumId,
      pending: false,
      withheld: true,
    })
    const [p, q] = [...uploaded].sort((a, b) => a.index - b.index)
    expect(p).toEqual({ ...receipt(p!.id), index: 0, restored: false })
    expect(await darkroom.photos.update(writer, { id: p!.id })).toEqual(receipt(p!.id))
    expect(await darkroom.photos.reorder(writer, { id: p!.id, after: q!.id })).toEqual(
      receipt(p!.id),
    )
    const copy = await darkroom.photos.move(writer, { id: p!.id, albumId: null, copy: true })
    expect(copy).toEqual(receipt(copy.id, null))
    expect(await darkroom.photos.move(writer, { id: q!.id, albumId: null })).toEqual(
      receipt(q!.id, null),
    )
    await darkroom.photos.delete(writer, { id: q!.id })
    expect(await darkroom.photos.restore(writer, { id: q!.id })).toEqual(receipt(q!.id, null))
    // The events (for webhooks, which need photos.read) still carry the whole photo.
    const updated = events.filter((e) => e.type === 'photo.updated').at(-1)!
    expect(updated.data).toMatchObject({ photo: { id: q!.id, exif: { make: 'SecretCam' } } })
    expect((updated.data as { photo: Photo }).photo.exif?.gps?.lat).toBeCloseTo(gps.lat, 5)
    // A caller with photos.read is answered the photo.
    expect(asPhoto(await darkroom.photos.update(alice, { id: p!.id })).exif?.make).toBe('SecretCam')
  })
})
