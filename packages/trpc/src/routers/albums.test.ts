import { describe, expect, it } from 'vitest'
import { failure, jpeg, makeHarness, uploadForm } from '../internal/harness.test-utils.js'

describe('albums', () => {
  it('create, list, get, update, delete (photos stay, outside any album)', async () => {
    const h = await makeHarness()
    const album = await h.alice.albums.create({ title: '  Wedding ', photoCap: 10 })
    expect(album).toEqual({
      id: expect.any(String),
      ownerId: 'alice',
      title: 'Wedding',
      description: '',
      photoCap: 10,
      coverPhotoId: null,
      photoCount: 0,
      createdAt: h.clock.now().toISOString(),
      updatedAt: h.clock.now().toISOString(),
    })
    const { uploaded } = await h.alice.photos.upload(
      uploadForm([{ name: 'a.jpg', bytes: await jpeg() }], { albumId: album.id }),
    )
    expect(await h.alice.albums.list()).toEqual([{ ...album, photoCount: 1 }])
    expect(await h.bob.albums.list()).toEqual([])
    expect((await h.alice.albums.get({ id: album.id })).photoCount).toBe(1)
    const updated = await h.alice.albums.update({
      id: album.id,
      title: 'Reception',
      photoCap: null,
      coverPhotoId: uploaded[0]!.id,
    })
    expect(updated).toMatchObject({
      title: 'Reception',
      photoCap: null,
      coverPhotoId: uploaded[0]!.id,
    })
    expect((await failure(h, h.bob.albums.get({ id: album.id }))).error.code).toBe('NOT_FOUND')
    expect(await h.alice.albums.delete({ id: album.id })).toEqual({ id: album.id, merged: [] })
    expect((await h.alice.photos.get({ id: uploaded[0]!.id })).albumId).toBeNull()
  })

  it('deletes an album whose photo has the same bytes in the trash (no 409)', async () => {
    const h = await makeHarness()
    const bytes = await jpeg()
    const { uploaded: outside } = await h.alice.photos.upload(
      uploadForm([{ name: 'a.jpg', bytes }]),
    )
    await h.alice.photos.delete({ id: outside[0]!.id })
    const album = await h.alice.albums.create({ title: 'Trip' })
    const { uploaded } = await h.alice.photos.upload(
      uploadForm([{ name: 'a.jpg', bytes }], { albumId: album.id }),
    )
    expect(await h.alice.albums.delete({ id: album.id })).toEqual({
      id: album.id,
      merged: [{ id: outside[0]!.id, keptId: uploaded[0]!.id }],
    })
    expect(await h.alice.photos.get({ id: uploaded[0]!.id })).toMatchObject({ albumId: null })
  })

  it('refuses a photoCap below the photos the album holds (422 on photoCap)', async () => {
    const h = await makeHarness()
    const album = await h.alice.albums.create({ title: 'Full' })
    await h.alice.photos.upload(
      uploadForm(
        [
          { name: 'a.jpg', bytes: await jpeg() },
          { name: 'b.jpg', bytes: await jpeg() },
        ],
        { albumId: album.id },
      ),
    )
    const { error, shape } = await failure(h, h.alice.albums.update({ id: album.id, photoCap: 1 }))
    expect(error.code).toBe('UNPROCESSABLE_CONTENT')
    expect(shape.data.darkroom?.violations).toEqual([
      expect.objectContaining({
        property: 'photoCap',
        message: expect.stringContaining('holds 2 photos'),
      }),
    ])
  })

  it('validates title and photoCap as core does', async () => {
    const h = await makeHarness()
    const { shape } = await failure(h, h.alice.albums.create({ title: ' ', photoCap: -1 }))
    expect(shape.data.darkroom?.violations).toEqual([
      expect.objectContaining({ property: 'title', message: 'The title has 1 to 200 characters.' }),
      expect.objectContaining({
        property: 'photoCap',
        message: 'The photo cap is a whole number from 0 to 1000000.',
      }),
    ])
  })
})
