import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROFILES } from './index.js'
import { form, makeJpeg, startProfileServer, type ProfileServer } from './testing/harness.js'

/**
 * Every seed API's way of adding a photo takes a token of the handler's upload rate limit, as
 * tRPC's and REST's uploads do: a profile is no way around `uploads.perMinute`. Each case signs
 * in as an owner of its own (the app's `x-user`), so its bucket starts full; with 2 tokens a
 * minute the third add is refused with the seed's 429, before its body is read, and nothing of
 * it is stored.
 */

let server: ProfileServer
const PER_MINUTE = 2

beforeAll(async () => {
  server = await startProfileServer({
    profiles: Object.values(PROFILES),
    uploads: { perMinute: PER_MINUTE },
  })
})
afterAll(() => server?.close())

const jpegForm = async (field: string, extra: [string, string][] = []) =>
  form([...extra, [field, { filename: 'photo.jpg', data: await makeJpeg(64, 48) }]])

const cases: {
  name: string
  add: (owner: string, albumId: string, photoId: string) => Promise<{ status: number }>
}[] = [
  {
    name: 'social POST /api/v1/photos',
    add: async (owner) =>
      server.send('POST', '/api/v1/photos', {
        headers: { 'x-user': owner },
        body: await jpegForm('image'),
      }),
  },
  {
    name: 'groups PUT /v1/Photo/:id with DoCopy',
    // Each copy into an album of its own: a second copy into one album would be a duplicate.
    add: async (owner, _albumId, photoId) => {
      const caller = { ownerId: owner, scopes: ['photos.write' as const] }
      const target = await server.darkroom.albums.create(caller, { title: 'Copies' })
      return server.send('PUT', `/v1/Photo/${photoId}`, {
        headers: { 'x-user': owner },
        body: { GroupId: target.id, DoCopy: true },
      })
    },
  },
  {
    name: 'events POST /v1/events/:id/photos',
    add: async (owner, albumId) =>
      server.send('POST', `/v1/events/${albumId}/photos`, {
        headers: { 'x-user': owner },
        body: await jpegForm('photos'),
      }),
  },
  {
    name: 'events POST /v1/events/:id/uploads (chunked)',
    add: async (owner, albumId) =>
      server.send('POST', `/v1/events/${albumId}/uploads`, {
        headers: { 'x-user': owner },
        body: { filename: 'big.jpg', size: 1000, mime_type: 'image/jpeg' },
      }),
  },
  {
    name: 'imagehost POST /api/upload',
    add: async (owner) =>
      server.send('POST', '/api/upload', {
        headers: { 'x-user': owner },
        body: await jpegForm('image'),
      }),
  },
  {
    name: 'albums POST /api/photos/upload',
    add: async (owner, albumId) =>
      server.send('POST', '/api/photos/upload', {
        headers: { cookie: `session=${owner}` },
        body: await jpegForm('file', [['album_id', albumId]]),
      }),
  },
]

describe('the seed APIs share the upload rate limit', () => {
  let n = 0
  it.each(cases)('$name: the third add in a minute is a 429', async ({ add }) => {
    const owner = `limited-${n++}`
    const caller = { ownerId: owner, scopes: ['photos.read' as const, 'photos.write' as const] }
    const album = await server.darkroom.albums.create(caller, { title: 'Limits' })
    // The photo a copy is made of, stored directly (no token taken).
    const { uploaded } = await server.darkroom.photos.upload(caller, {
      files: [{ filename: 'source.jpg', data: await makeJpeg(32, 24) }],
    })
    const statuses: number[] = []
    for (let i = 0; i <= PER_MINUTE; i++) {
      statuses.push((await add(owner, album.id, uploaded[0]!.id)).status)
    }
    expect(statuses.slice(0, PER_MINUTE).every((s) => s >= 200 && s < 300)).toBe(true)
    expect(statuses[PER_MINUTE]).toBe(429)
    // The source and what the two admitted adds stored, whichever albums they went to.
    const stored = await server.darkroom.photos.list(caller, {})
    expect(stored.items.length).toBeLessThanOrEqual(1 + PER_MINUTE)
  })
})
