import { describe, expect, it } from 'vitest'
import { makeCaller, makeJpeg, makeTestDarkroom } from '../../testing/index.js'

const alice = makeCaller('alice')
const bob = makeCaller('bob')

/** An album of `count` photos uploaded one at a time (the album's order), with their ids. */
async function album(count: number) {
  const test = await makeTestDarkroom()
  const { darkroom } = test
  const { id: albumId } = await darkroom.albums.create(alice, { title: 'Trip' })
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    const data = await makeJpeg({ width: 40, height: 30, seed: i })
    const { uploaded } = await darkroom.photos.upload(alice, {
      albumId,
      files: [{ filename: `p${i}.jpg`, data }],
    })
    ids.push(uploaded[0]!.id)
  }
  return { darkroom, albumId, ids }
}

describe('photos.listArchive', () => {
  it("lists the owner's listed photos in the album's order with their sizes; never hidden or trashed ones", async () => {
    const { darkroom, albumId, ids } = await album(4)
    await darkroom.photos.update(alice, { id: ids[1]!, hidden: true })
    await darkroom.photos.delete(alice, { id: ids[2]! })
    await darkroom.photos.reorder(alice, { id: ids[3]!, before: ids[0]! })
    const listing = await darkroom.photos.listArchive(alice, { albumId })
    expect(listing).toMatchObject({ albumId, title: 'Trip', isOwner: true, variant: 'original' })
    expect(listing.entries.map((e) => e.photoId)).toEqual([ids[3], ids[0]])
    const photo = await darkroom.photos.get(alice, { id: ids[0]! })
    expect(listing.entries[1]).toMatchObject({
      filename: 'p0.jpg',
      size: photo.size,
      extension: 'jpg',
      tag: photo.checksum,
    })
  })

  it('gives others the public photos only, and NOT_FOUND for an album with none, like a missing one', async () => {
    const { darkroom, albumId, ids } = await album(3)
    for (const caller of [bob, null]) {
      await expect(darkroom.photos.listArchive(caller, { albumId })).rejects.toMatchObject({
        code: 'NOT_FOUND',
        message: `Album "${albumId}" was not found.`,
      })
    }
    await darkroom.photos.update(alice, { id: ids[2]!, isPublic: true })
    const listing = await darkroom.photos.listArchive(null, { albumId })
    expect(listing.isOwner).toBe(false)
    expect(listing.entries.map((e) => e.photoId)).toEqual([ids[2]])
  })

  it('lists a stored variant with its own size and extension, and refuses an unknown size', async () => {
    const { darkroom, albumId, ids } = await album(1)
    const listing = await darkroom.photos.listArchive(alice, { albumId, variant: 'small' })
    const photo = await darkroom.photos.get(alice, { id: ids[0]! })
    expect(listing.entries[0]).toMatchObject({ extension: 'webp' })
    expect(listing.entries[0]!.size).toBeLessThan(photo.size + 1_000_000)
    await expect(
      darkroom.photos.listArchive(alice, { albumId, variant: 'huge' }),
    ).rejects.toMatchObject({ code: 'VALIDATION' })
  })

  it('reads an album larger than one store page (200 rows)', async () => {
    const test = await makeTestDarkroom()
    const { darkroom } = test
    const { id: albumId } = await darkroom.albums.create(alice, { title: 'Many' })
    const jpeg = await makeJpeg({ width: 8, height: 8 })
    // The same pixels with a distinct trailing byte each: distinct checksums, one encode.
    const files = Array.from({ length: 201 }, (_, i) => ({
      filename: `p${i}.jpg`,
      data: Buffer.concat([jpeg, Buffer.from([i & 0xff, i >> 8])]),
    }))
    const { uploaded } = await darkroom.photos.upload(alice, { albumId, files })
    expect(uploaded).toHaveLength(201)
    const listing = await darkroom.photos.listArchive(alice, { albumId })
    expect(listing.entries.map((e) => e.photoId)).toEqual(uploaded.map((p) => p.id))
  })
})
