import { describe, expect, it } from 'vitest'
import { makeCaller, makeJpeg, makeTestDarkroom, type TestDarkroom } from '../../testing/index.js'

const alice = makeCaller('alice')

async function uploadOne(test: TestDarkroom, data: Uint8Array, albumId: string | null = null) {
  const { uploaded } = await test.darkroom.photos.upload(alice, {
    albumId,
    files: [{ filename: 'same.jpg', data }],
  })
  return uploaded[0]!
}

/** Every blob key the store holds under `photos/<id>/`. */
async function blobsOf(test: TestDarkroom, id: string): Promise<string[]> {
  const keys: string[] = []
  for await (const blob of test.blobs.list(`photos/${id}/`)) keys.push(blob.key)
  return keys.sort()
}

describe('albums.delete with the same bytes outside any album', () => {
  it('succeeds when the library holds the bytes only in the trash: the album photo stays', async () => {
    const test = await makeTestDarkroom()
    const { darkroom } = test
    const data = await makeJpeg({ width: 40, height: 30, seed: 1 })
    const trashed = await uploadOne(test, data)
    await darkroom.photos.delete(alice, { id: trashed.id })
    const album = await darkroom.albums.create(alice, { title: 'Trip' })
    const inAlbum = await uploadOne(test, data, album.id)
    expect(inAlbum.restored).toBe(false)

    const result = await darkroom.albums.delete(alice, { id: album.id })

    expect(result).toEqual({ id: album.id, merged: [{ id: trashed.id, keptId: inAlbum.id }] })
    expect(await darkroom.photos.get(alice, { id: inAlbum.id })).toMatchObject({
      albumId: null,
      deletedAt: null,
    })
    await expect(darkroom.photos.get(alice, { id: trashed.id })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
    expect(await blobsOf(test, trashed.id)).toEqual([])
    expect(await blobsOf(test, inAlbum.id)).not.toEqual([])
    const opened = await darkroom.photos.openBlob(alice, { id: inAlbum.id, variant: 'original' })
    opened.stream.destroy()
    expect(test.events.filter((e) => e.type === 'photo.deleted').at(-1)).toMatchObject({
      subjectId: trashed.id,
      data: { hard: true, reason: 'album_deleted_duplicate', keptId: inAlbum.id },
    })
  })

  it('lets the second of two albums holding copies of one photo be deleted', async () => {
    const test = await makeTestDarkroom()
    const { darkroom } = test
    const a = await darkroom.albums.create(alice, { title: 'A' })
    const b = await darkroom.albums.create(alice, { title: 'B' })
    const original = await uploadOne(test, await makeJpeg({ width: 40, height: 30, seed: 2 }), a.id)
    const copy = await darkroom.photos.move(alice, { id: original.id, albumId: b.id, copy: true })

    expect(await darkroom.albums.delete(alice, { id: a.id })).toEqual({ id: a.id, merged: [] })
    const second = await darkroom.albums.delete(alice, { id: b.id })

    // The copy in B goes: its bytes are outside any album already, as the first album's photo.
    expect(second).toEqual({ id: b.id, merged: [{ id: copy.id, keptId: original.id }] })
    const left = await darkroom.photos.list(alice, { albumId: null })
    expect(left.items.map((p) => p.id)).toEqual([original.id])
    expect(await blobsOf(test, copy.id)).toEqual([])
    const keys = await blobsOf(test, original.id)
    expect(keys.length).toBeGreaterThan(1)
    for (const variant of ['original', 'small']) {
      const opened = await darkroom.photos.openBlob(alice, { id: original.id, variant })
      opened.stream.destroy()
    }
    expect(await darkroom.albums.list(alice)).toEqual([])
  })

  it('keeps the photo that is not in the trash, and moves the profile picture to it', async () => {
    const test = await makeTestDarkroom()
    const { darkroom } = test
    const data = await makeJpeg({ width: 40, height: 30, seed: 3 })
    const outside = await uploadOne(test, data)
    const album = await darkroom.albums.create(alice, { title: 'Trip' })
    const { uploaded } = await darkroom.photos.upload(alice, {
      albumId: album.id,
      setProfilePicture: true,
      files: [{ filename: 'same.jpg', data }],
    })
    const inAlbum = uploaded[0]!
    expect((await darkroom.owners.me(alice)).profilePhotoId).toBe(inAlbum.id)

    // Both live: the photo already outside any album stays as it is, the album's copy goes.
    const result = await darkroom.albums.delete(alice, { id: album.id })
    expect(result.merged).toEqual([{ id: inAlbum.id, keptId: outside.id }])
    expect((await darkroom.owners.me(alice)).profilePhotoId).toBe(outside.id)
    expect(await blobsOf(test, outside.id)).not.toEqual([])

    // A trashed album photo beside a live one outside: the trashed one goes.
    const again = await darkroom.albums.create(alice, { title: 'Again' })
    const trashedCopy = await darkroom.photos.move(alice, {
      id: outside.id,
      albumId: again.id,
      copy: true,
    })
    await darkroom.photos.delete(alice, { id: trashedCopy.id })
    expect((await darkroom.albums.delete(alice, { id: again.id })).merged).toEqual([
      { id: trashedCopy.id, keptId: outside.id },
    ])
  })
})

describe('albums.update photoCap', () => {
  it('refuses a cap below the photos the album holds, naming the count (VALIDATION)', async () => {
    const test = await makeTestDarkroom()
    const { darkroom } = test
    const album = await darkroom.albums.create(alice, { title: 'Party', photoCap: 10 })
    for (let i = 0; i < 3; i++) {
      await uploadOne(test, await makeJpeg({ width: 20, height: 20, seed: 100 + i }), album.id)
    }
    const trashed = await uploadOne(
      test,
      await makeJpeg({ width: 20, height: 20, seed: 110 }),
      album.id,
    )
    await darkroom.photos.delete(alice, { id: trashed.id }) // the trash does not count

    const refused = await darkroom.albums
      .update(alice, { id: album.id, photoCap: 2, title: 'Renamed' })
      .catch((e: unknown) => e)
    expect(refused).toMatchObject({
      code: 'VALIDATION',
      violations: [{ property: 'photoCap', message: expect.stringContaining('holds 3 photos') }],
    })
    expect(await darkroom.albums.get(alice, { id: album.id })).toMatchObject({
      title: 'Party',
      photoCap: 10,
      photoCount: 3,
    })

    expect(await darkroom.albums.update(alice, { id: album.id, photoCap: 3 })).toMatchObject({
      photoCap: 3,
      photoCount: 3,
    })
    expect(await darkroom.albums.update(alice, { id: album.id, photoCap: null })).toMatchObject({
      photoCap: null,
    })
  })
})
