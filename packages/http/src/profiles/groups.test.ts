import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGroupsProfile } from './groups.js'
import { ALICE, BOB, makeJpeg, startProfileServer, type ProfileServer } from './testing/harness.js'

/**
 * Seed 001 replayed over raw HTTP: `/v1/Photo/<photo uuid>` with GET, DELETE and PUT, as the
 * document shows them, on an engine with a watermark configured; plus what keeps it honest
 * (another owner's photo is 404, no credentials 401, unknown keys and parameters refused).
 */

let server: ProfileServer
let groupId: string
let otherGroupId: string
let bobsGroupId: string

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const FIELDS = [
  'OwnerId',
  'GroupId',
  'PhotoId',
  'Created',
  'Medium',
  'Original',
  'Small',
  'Watermark',
  'WatermarkSmall',
  'Deleted',
  'SortOrder',
  'Ratio',
  'Region',
  'Hue',
]

/** Alice's photo, uploaded through core as her app would, in `albumId` (or none). */
async function alicePhoto(
  filename: string,
  albumId: string | null,
  options: { isPublic?: boolean } = {},
) {
  const data = await makeJpeg(1536, 1024)
  const { uploaded } = await server.darkroom.photos.upload(ALICE, {
    files: [{ filename, data }],
    albumId,
    isPublic: options.isPublic ?? false,
  })
  return { id: uploaded[0]!.id, data }
}

const alice = () => server.bearer(server.keys.alice)
const bob = () => server.bearer(server.keys.bob)
/** `curl -d '{...}'` labels its JSON `application/x-www-form-urlencoded`. */
const curlJson = (body: unknown) => ({
  headers: { ...alice(), 'content-type': 'application/x-www-form-urlencoded' },
  body: JSON.stringify(body),
})

beforeAll(async () => {
  server = await startProfileServer({
    profiles: [
      'groups',
      { profile: createGroupsProfile({ region: 'picthrive-dyn' }), basePath: '/eu' },
    ],
    config: { watermark: { text: 'PROOF' } },
  })
  groupId = (await server.darkroom.albums.create(ALICE, { title: 'Wedding' })).id
  otherGroupId = (await server.darkroom.albums.create(ALICE, { title: 'Party' })).id
  bobsGroupId = (await server.darkroom.albums.create(BOB, { title: 'Bob' })).id
})
afterAll(() => server?.close())

describe('GET /v1/Photo/<photo uuid>', () => {
  it('returns the photo item with every documented field (200 OK)', async () => {
    const before = Math.floor(Date.now() / 1000)
    const { id } = await alicePhoto('IMG_01.jpg', groupId)
    const got = await server.send('GET', `/v1/Photo/${id}`, { headers: alice() })
    expect(got.status).toBe(200)
    expect(got.headers.get('content-type')).toMatch(/^application\/json/)
    const item = got.json as Record<string, unknown>
    expect(Object.keys(item)).toEqual(FIELDS)
    expect(item).toEqual({
      OwnerId: 'alice',
      GroupId: groupId,
      PhotoId: id,
      Created: expect.any(Number),
      Medium: `/photos/${id}/medium.webp`,
      Original: `/photos/${id}/original.jpg`,
      Small: `/photos/${id}/small.webp`,
      Watermark: `/photos/${id}/watermark.webp`,
      WatermarkSmall: `/photos/${id}/watermarkSmall.webp`,
      Deleted: false,
      SortOrder: 'IMG_01.jpg',
      Ratio: 1.5,
      Region: 'local',
      Hue: expect.stringMatching(/^#[0-9a-f]{6}$/),
    })
    expect(item.PhotoId).toMatch(UUID)
    expect(item.GroupId).toMatch(UUID)
    expect(Number.isInteger(item.Created)).toBe(true)
    expect(item.Created).toBeGreaterThanOrEqual(before)
    expect(item.Created).toBeLessThanOrEqual(Math.floor(Date.now() / 1000))
  })

  it('has URL suffixes that resolve to the images, watermarked ones included', async () => {
    const { id, data } = await alicePhoto('IMG_02.jpg', groupId, { isPublic: true })
    const item = (await server.send('GET', `/v1/Photo/${id}`, { headers: alice() })).json as {
      Original: string
      Medium: string
      Small: string
      Watermark: string
      WatermarkSmall: string
    }
    const image = async (path: string, headers: Record<string, string> = {}) => {
      const response = await fetch(`${server.origin}${path}`, { headers })
      expect(response.status, path).toBe(200)
      return Buffer.from(await response.arrayBuffer())
    }
    expect((await image(item.Original, alice())).equals(Buffer.from(data))).toBe(true)
    const sizes = {
      [item.Medium]: 1024,
      [item.Small]: 320,
      [item.Watermark]: 1024,
      [item.WatermarkSmall]: 320,
    }
    for (const [path, width] of Object.entries(sizes)) {
      const meta = await sharp(await image(path, alice())).metadata()
      expect([meta.format, meta.width], path).toEqual(['webp', width])
    }
    // The watermarked variants of a public photo are open to anyone; the others are not.
    const marked = await image(item.Watermark)
    const plain = await image(item.Medium, alice())
    expect(marked.equals(plain)).toBe(false)
    await image(item.WatermarkSmall)
    for (const path of [item.Original, item.Medium, item.Small]) {
      expect((await fetch(`${server.origin}${path}`)).status, path).toBe(403)
    }
  })

  it('reports Deleted: true to the owner once the photo is deleted, and 404 to anyone else', async () => {
    const { id } = await alicePhoto('IMG_03.jpg', groupId, { isPublic: true })
    expect((await server.send('GET', `/v1/Photo/${id}`, { headers: bob() })).status).toBe(200)
    await server.send('DELETE', `/v1/Photo/${id}`, { headers: alice() })
    const own = await server.send('GET', `/v1/Photo/${id}`, { headers: alice() })
    expect(own.status).toBe(200)
    expect(own.json).toMatchObject({ PhotoId: id, Deleted: true })
    const other = await server.send('GET', `/v1/Photo/${id}`, { headers: bob() })
    expect(other.status).toBe(404)
    expect(other.json).toEqual({ Error: `Photo "${id}" was not found.` })
  })

  it('has GroupId null for a photo in no group', async () => {
    const { id } = await alicePhoto('loose.jpg', null)
    const got = await server.send('GET', `/v1/Photo/${id}`, { headers: alice() })
    expect(got.json).toMatchObject({ PhotoId: id, GroupId: null, SortOrder: 'loose.jpg' })
  })

  it("reports the profile's region, under its own base path", async () => {
    const { id } = await alicePhoto('IMG_04.jpg', groupId)
    const got = await server.send('GET', `/eu/v1/Photo/${id}`, { headers: alice() })
    expect(got.status).toBe(200)
    expect(got.json).toMatchObject({ PhotoId: id, Region: 'picthrive-dyn' })
  })

  it("is 404 for another owner's private photo or a missing one, and 401 without credentials", async () => {
    const { id } = await alicePhoto('IMG_05.jpg', groupId)
    const foreign = await server.send('GET', `/v1/Photo/${id}`, { headers: bob() })
    expect(foreign.status).toBe(404)
    expect(foreign.json).toEqual({ Error: `Photo "${id}" was not found.` })
    const missing = '01900000-0000-7000-8000-000000000000'
    const none = await server.send('GET', `/v1/Photo/${missing}`, { headers: alice() })
    expect(none.status).toBe(404)
    expect(none.json).toEqual({ Error: `Photo "${missing}" was not found.` })
    const anonymous = await server.send('GET', `/v1/Photo/${id}`)
    expect(anonymous.status).toBe(401)
    expect(anonymous.json).toEqual({
      Error: 'An API key is required (Authorization: Bearer sk_...).',
    })
    const session = await server.send('GET', `/v1/Photo/${id}`, { headers: { 'x-user': 'alice' } })
    expect(session.status).toBe(200)
  })

  it('refuses unknown query parameters, naming each', async () => {
    const { id } = await alicePhoto('IMG_06.jpg', groupId)
    const got = await server.send('GET', `/v1/Photo/${id}?expand=1&fields=x`, { headers: alice() })
    expect(got.status).toBe(422)
    expect(got.json).toEqual({
      Error: 'Invalid input. Unknown query parameter "expand". Unknown query parameter "fields".',
    })
  })

  it('answers 405 with Allow for a method the document does not show', async () => {
    const got = await server.send('POST', '/v1/Photo/x', { headers: alice() })
    expect(got.status).toBe(405)
    expect(got.headers.get('allow')).toBe('GET, HEAD, DELETE, PUT')
    expect(got.json).toEqual({ Error: 'Use GET, HEAD, DELETE, PUT on this path.' })
  })
})

describe('DELETE /v1/Photo/<photo uuid>', () => {
  it('deletes the photo (200 OK, no Error), to the trash', async () => {
    const { id } = await alicePhoto('IMG_10.jpg', groupId)
    const got = await server.send('DELETE', `/v1/Photo/${id}`, { headers: alice() })
    expect(got.status).toBe(200)
    expect(got.json).toEqual({})
    expect((await server.darkroom.photos.get(ALICE, { id })).deletedAt).not.toBeNull()
    const again = await server.send('DELETE', `/v1/Photo/${id}`, { headers: alice() })
    expect([again.status, again.json]).toEqual([200, {}])
  })

  it("answers an Error: 404 for another owner's photo, 401 without credentials, 403 read-only", async () => {
    const { id } = await alicePhoto('IMG_11.jpg', groupId, { isPublic: true })
    const foreign = await server.send('DELETE', `/v1/Photo/${id}`, { headers: bob() })
    expect(foreign.status).toBe(404)
    expect(foreign.json).toEqual({ Error: `Photo "${id}" was not found.` })
    const anonymous = await server.send('DELETE', `/v1/Photo/${id}`)
    expect(anonymous.status).toBe(401)
    expect(anonymous.json).toEqual({ Error: expect.stringContaining('API key') })
    const readOnly = await server.send('DELETE', `/v1/Photo/${id}`, {
      headers: server.bearer(server.keys.aliceReadOnly),
    })
    expect(readOnly.status).toBe(403)
    expect(readOnly.json).toEqual({ Error: 'This operation needs the "photos.write" scope.' })
    expect((await server.darkroom.photos.get(ALICE, { id })).deletedAt).toBeNull()
    const query = await server.send('DELETE', `/v1/Photo/${id}?hard=true`, { headers: alice() })
    expect(query.status).toBe(422)
    expect(query.json).toEqual({ Error: 'Invalid input. Unknown query parameter "hard".' })
  })
})

describe('PUT /v1/Photo/<photo uuid>', () => {
  it('moves the photo to another group with the example PostData (DoCopy: false)', async () => {
    const { id } = await alicePhoto('IMG_20.jpg', groupId)
    const got = await server.send(
      'PUT',
      `/v1/Photo/${id}`,
      curlJson({ GroupId: otherGroupId, DoCopy: false }),
    )
    expect(got.status).toBe(200)
    expect(got.json).toEqual({ PhotoId: id })
    const item = await server.send('GET', `/v1/Photo/${id}`, { headers: alice() })
    expect(item.json).toMatchObject({ PhotoId: id, GroupId: otherGroupId })
  })

  it('moves by default, and out of any group with GroupId null', async () => {
    const { id } = await alicePhoto('IMG_21.jpg', groupId)
    const moved = await server.send('PUT', `/v1/Photo/${id}`, curlJson({ GroupId: otherGroupId }))
    expect(moved.json).toEqual({ PhotoId: id })
    const out = await server.send('PUT', `/v1/Photo/${id}`, curlJson({ GroupId: null }))
    expect(out.json).toEqual({ PhotoId: id })
    expect((await server.darkroom.photos.get(ALICE, { id })).albumId).toBeNull()
  })

  it('copies the photo with DoCopy: true, answering the new photo uuid', async () => {
    const { id } = await alicePhoto('IMG_22.jpg', groupId)
    const got = await server.send(
      'PUT',
      `/v1/Photo/${id}`,
      curlJson({ GroupId: otherGroupId, DoCopy: true }),
    )
    expect(got.status).toBe(200)
    const { PhotoId } = got.json as { PhotoId: string }
    expect(PhotoId).toMatch(UUID)
    expect(PhotoId).not.toBe(id)
    const copy = await server.send('GET', `/v1/Photo/${PhotoId}`, { headers: alice() })
    expect(copy.json).toMatchObject({ GroupId: otherGroupId, SortOrder: 'IMG_22.jpg' })
    const source = await server.send('GET', `/v1/Photo/${id}`, { headers: alice() })
    expect(source.json).toMatchObject({ GroupId: groupId })
    const again = await server.send(
      'PUT',
      `/v1/Photo/${id}`,
      curlJson({ GroupId: otherGroupId, DoCopy: true }),
    )
    expect(again.status).toBe(409)
    expect(again.json).toEqual({
      Error: `A photo with the same bytes is already in album ${otherGroupId}.`,
    })
  })

  it('refuses unknown keys and bad values, naming each (422), and a body that is not JSON (400)', async () => {
    const { id } = await alicePhoto('IMG_23.jpg', groupId)
    const unknown = await server.send(
      'PUT',
      `/v1/Photo/${id}`,
      curlJson({ GroupId: otherGroupId, DoCopy: false, Title: 'x', Order: 1 }),
    )
    expect(unknown.status).toBe(422)
    expect(unknown.json).toEqual({
      Error: 'Invalid input. Unknown key "Title". Unknown key "Order".',
    })
    const bad = await server.send('PUT', `/v1/Photo/${id}`, curlJson({ DoCopy: 'yes' }))
    expect(bad.status).toBe(422)
    expect((bad.json as { Error: string }).Error).toMatch(/GroupId is required\..*DoCopy/)
    const empty = await server.send('PUT', `/v1/Photo/${id}`, { headers: alice() })
    expect(empty.status).toBe(422)
    expect(empty.json).toEqual({ Error: 'Invalid input. GroupId is required.' })
    const notJson = await server.send('PUT', `/v1/Photo/${id}`, {
      headers: alice(),
      body: 'GroupId=1',
    })
    expect(notJson.status).toBe(400)
    expect(notJson.json).toEqual({ Error: 'The request body is not valid JSON.' })
    expect((await server.darkroom.photos.get(ALICE, { id })).albumId).toBe(groupId)
  })

  it("is 404 for another owner's photo or group, and 401 without credentials", async () => {
    const { id } = await alicePhoto('IMG_24.jpg', groupId)
    const foreignGroup = await server.send(
      'PUT',
      `/v1/Photo/${id}`,
      curlJson({ GroupId: bobsGroupId }),
    )
    expect(foreignGroup.status).toBe(404)
    expect(foreignGroup.json).toEqual({ Error: `Album "${bobsGroupId}" was not found.` })
    const foreignPhoto = await server.send('PUT', `/v1/Photo/${id}`, {
      headers: bob(),
      body: JSON.stringify({ GroupId: bobsGroupId }),
    })
    expect(foreignPhoto.status).toBe(404)
    expect(foreignPhoto.json).toEqual({ Error: `Photo "${id}" was not found.` })
    const anonymous = await server.send('PUT', `/v1/Photo/${id}`, {
      body: JSON.stringify({ GroupId: otherGroupId }),
    })
    expect(anonymous.status).toBe(401)
    expect((await server.darkroom.photos.get(ALICE, { id })).albumId).toBe(groupId)
  })
})
