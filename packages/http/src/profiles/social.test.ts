import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ProfileDeps } from './profile.js'
import { socialProfile } from './social.js'
import {
  form,
  makeJpeg,
  makePng,
  startProfileServer,
  type ProfileServer,
  type Sent,
} from './testing/harness.js'

/**
 * Seed 000 replayed over raw HTTP: every request of the photos document as it shows it, with the
 * documented statuses, fields and error bodies, and what keeps it honest (another owner's photo,
 * no credentials, unknown parameters, every refused upload).
 */

const MAX_FILE_BYTES = 200_000
const NOT_FOUND = { code: 404, message: 'Photo with provided guid could not be found' }
const CREATE_FAILED = { code: 422, message: 'Failed to create the photo' }
const GUID = /^[0-9a-f]{32}$/
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

let server: ProfileServer
beforeAll(async () => {
  server = await startProfileServer({
    profiles: ['social', { profile: 'social', basePath: '/social' }],
    config: { limits: { maxFileBytes: MAX_FILE_BYTES } },
  })
})
afterAll(() => server?.close())

/** The app's own sign-in for `user` (each test its own user, so lists hold only its photos). */
const as = (user: string) => ({ 'x-user': user })

/** `POST /api/v1/photos` as curl -F sends it: the file as application/octet-stream. */
async function upload(
  headers: Record<string, string>,
  fields: [string, string][] = [],
  file: { field?: string; data?: Uint8Array } = {},
  path = '/api/v1/photos',
): Promise<Sent> {
  const data = file.data ?? (await makeJpeg())
  return server.send('POST', path, {
    headers,
    body: form([...fields, [file.field ?? 'image', { filename: 'photo.jpg', data }]]),
  })
}

/** A photo object with exactly the document's fields. */
function documented(size = { height: 1200, width: 1600 }, post: string | null = null) {
  const url = expect.stringMatching(new RegExp(`^${server.origin}/photos/[0-9a-f-]{36}/`))
  return {
    guid: expect.stringMatching(GUID),
    post,
    created_at: expect.stringMatching(ISO_MS),
    dimensions: size,
    sizes: { large: url, medium: url, small: url },
  }
}

const guidOf = (sent: Sent) => (sent.json as { guid: string }).guid
/** The dashed UUID of a guid. */
const idOf = (guid: string) => guid.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5')

describe('GET /api/v1/photos', () => {
  it("answers the caller's own photos, newest first, in the document's shape", async () => {
    const first = await upload(as('lister'))
    const second = await upload(as('lister'))
    await upload(as('someone-else'))

    const got = await server.send('GET', '/api/v1/photos', { headers: as('lister') })
    expect(got.status).toBe(200)
    expect(got.headers.get('content-type')).toMatch(/^application\/json/)
    expect(got.json).toEqual([documented(), documented()])
    expect(got.json).toEqual([second.json, first.json])
    const [newer, older] = got.json as { created_at: string }[]
    expect(newer!.created_at >= older!.created_at).toBe(true)
    expect(got.headers.get('link')).toBeNull()
  })

  it('leaves pending photos out', async () => {
    await upload(as('pender'), [['pending', 'true']])
    const listed = await upload(as('pender'))
    const got = await server.send('GET', '/api/v1/photos', { headers: as('pender') })
    expect(got.json).toEqual([listed.json])
  })

  it('serves the sizes it names: absolute URLs of the stored variants', async () => {
    const sent = await upload(server.bearer(server.keys.alice))
    const { sizes } = sent.json as { sizes: Record<string, string> }
    for (const url of Object.values(sizes)) {
      const picture = await fetch(url, { headers: server.bearer(server.keys.alice) })
      expect(picture.status).toBe(200)
      expect(picture.headers.get('content-type')).toMatch(/^image\//)
    }
  })

  it('pages with page and per_page, naming the other pages in a Link header', async () => {
    const sent = []
    for (let i = 0; i < 3; i++) sent.push((await upload(as('pager'))).json)
    const base = `${server.origin}/api/v1/photos`

    const one = await server.send('GET', '/api/v1/photos?per_page=2', { headers: as('pager') })
    expect(one.json).toEqual([sent[2], sent[1]])
    expect(one.headers.get('link')).toBe(`<${base}?page=2&per_page=2>; rel="next"`)

    const two = await server.send('GET', '/api/v1/photos?page=2&per_page=2', {
      headers: as('pager'),
    })
    expect(two.json).toEqual([sent[0]])
    expect(two.headers.get('link')).toBe(`<${base}?page=1&per_page=2>; rel="previous"`)
  })

  it('refuses unknown, repeated and malformed query parameters, naming each', async () => {
    const cases: [string, string][] = [
      ['?limit=5&sort=taken', 'Invalid input. Unknown key "limit". Unknown key "sort".'],
      ['?page=1&page=2', 'Validation failed. "page" is given more than once.'],
      ['?per_page=0', 'Invalid input. per_page: expected a whole number from 1'],
      ['?per_page=201', 'Invalid input. per_page: at most 200'],
      ['?page=x', 'Invalid input. page: expected a whole number from 1'],
    ]
    for (const [query, message] of cases) {
      const got = await server.send('GET', `/api/v1/photos${query}`, { headers: as('lister') })
      expect(got.status, query).toBe(422)
      expect(got.json, query).toEqual({ code: 422, message })
    }
  })

  it('is 401 without credentials', async () => {
    const got = await server.send('GET', '/api/v1/photos')
    expect(got.status).toBe(401)
    expect(got.headers.get('www-authenticate')).toBe('Bearer')
    expect(got.json).toEqual({ code: 401, message: expect.any(String) })
  })
})

describe('GET /api/v1/photos/:photo_guid', () => {
  it("answers the photo in the document's shape, by its 32-hex guid or its dashed UUID", async () => {
    const sent = await upload(server.bearer(server.keys.alice))
    const guid = guidOf(sent)
    const got = await server.send('GET', `/api/v1/photos/${guid}`, {
      headers: server.bearer(server.keys.alice),
    })
    expect(got.status).toBe(200)
    expect(got.json).toEqual(documented())
    expect(got.json).toEqual(sent.json)

    const again = await server.send('GET', `/api/v1/photos/${idOf(guid).toUpperCase()}`, {
      headers: server.bearer(server.keys.alice),
    })
    expect(again.json).toEqual(sent.json)
  })

  it('names the post it is attached to, and the displayed (EXIF-oriented) dimensions', async () => {
    const post = 'c32c73a085ff0134029244b301d53d2d'
    const data = await sharp(await makeJpeg(1600, 1200))
      .withMetadata({ orientation: 6 })
      .toBuffer()
    const { uploaded } = await server.darkroom.photos.upload(
      { ownerId: 'poster', scopes: ['photos.read', 'photos.write'] },
      { files: [{ filename: 'a.jpg', data }], postId: post },
    )
    const guid = uploaded[0]!.id.replaceAll('-', '')
    const got = await server.send('GET', `/api/v1/photos/${guid}`, { headers: as('poster') })
    expect(got.json).toEqual({ ...documented({ height: 1600, width: 1200 }, post), guid })
  })

  it('answers a pending photo: a post attaches it by guid later', async () => {
    const sent = await upload(as('pender2'), [['pending', 'true']])
    const got = await server.send('GET', `/api/v1/photos/${guidOf(sent)}`, {
      headers: as('pender2'),
    })
    expect(got.status).toBe(200)
    expect(got.json).toEqual(sent.json)
  })

  it("is the documented 404 for a missing, malformed, another owner's or trashed photo", async () => {
    const bobs = await upload(server.bearer(server.keys.bob))
    const trashed = await upload(as('trasher'))
    await server.darkroom.photos.delete(
      { ownerId: 'trasher', scopes: ['photos.write'] },
      { id: idOf(guidOf(trashed)) },
    )
    const cases: [string, Record<string, string>][] = [
      ['0a992a10b9db0133e40e406c8f31e210', as('trasher')],
      ['not-a-guid', as('trasher')],
      ['0a992a10b9db0133e40e406c8f31e2100', as('trasher')],
      [guidOf(bobs), server.bearer(server.keys.alice)],
      [guidOf(trashed), as('trasher')],
    ]
    for (const [guid, headers] of cases) {
      const got = await server.send('GET', `/api/v1/photos/${guid}`, { headers })
      expect(got.status, guid).toBe(404)
      expect(got.json, guid).toEqual(NOT_FOUND)
    }
  })

  it('is 401 without credentials, and refuses query parameters', async () => {
    const sent = await upload(as('reader'))
    const anonymous = await server.send('GET', `/api/v1/photos/${guidOf(sent)}`)
    expect(anonymous.status).toBe(401)
    const query = await server.send('GET', `/api/v1/photos/${guidOf(sent)}?fields=all`, {
      headers: as('reader'),
    })
    expect(query.status).toBe(422)
    expect(query.json).toEqual({ code: 422, message: 'Invalid input. Unknown key "fields".' })
  })
})

describe('POST /api/v1/photos', () => {
  it('stores a multipart photo sent as application/octet-stream and answers it', async () => {
    const got = await upload(server.bearer(server.keys.alice))
    expect(got.status).toBe(200)
    expect(got.json).toEqual(documented())
    const created = Date.parse((got.json as { created_at: string }).created_at)
    expect(Math.abs(created - Date.now())).toBeLessThan(60_000)
  })

  it('takes the file in "image" or "file", with its real type whatever the part says', async () => {
    const png = await upload(as('uploader'), [], { field: 'file', data: await makePng(64, 48) })
    expect(png.status).toBe(200)
    expect(png.json).toEqual(documented({ height: 48, width: 64 }))
  })

  it('stores pending=true photos unlisted, from the form or the query string', async () => {
    const inForm = await upload(as('pending-user'), [['pending', 'true']])
    const inQuery = await upload(as('pending-user'), [], {}, '/api/v1/photos?pending=1')
    expect(inForm.status).toBe(200)
    expect(inQuery.status).toBe(200)
    const listed = await server.send('GET', '/api/v1/photos', { headers: as('pending-user') })
    expect(listed.json).toEqual([])
  })

  it('makes the upload the profile picture with set_profile_picture=true', async () => {
    const before = await server.send('GET', '/api/v1/user', { headers: as('avatar-user') })
    expect(before.json).toEqual({ guid: 'avatar-user' })
    await upload(as('avatar-user'), [['set_profile_picture', 'false']])
    const chosen = await upload(as('avatar-user'), [['set_profile_picture', 'true']])
    expect(chosen.status).toBe(200)
    const after = await server.send('GET', '/api/v1/user', { headers: as('avatar-user') })
    expect(after.status).toBe(200)
    expect(after.json).toEqual({
      guid: 'avatar-user',
      avatar: (chosen.json as { sizes: unknown }).sizes,
    })
  })

  it('refuses every failed upload as the documented 422, its cause in detail', async () => {
    const jpeg = await makeJpeg(400, 300)
    const twice = await makeJpeg(300, 200)
    const first = await upload(as('refused'), [], { data: twice })
    const cases: [string, () => Promise<Sent>, string | RegExp][] = [
      ['not an image', () => upload(as('refused'), [], { data: Buffer.from('hello') }), /type/],
      [
        'a truncated JPEG',
        () => upload(as('refused'), [], { data: jpeg.subarray(0, 600) }),
        /damaged|truncated/,
      ],
      [
        'over maxFileBytes',
        () => upload(as('refused'), [], { data: new Uint8Array(MAX_FILE_BYTES + 1).fill(255) }),
        `The file is too large (${MAX_FILE_BYTES + 1} bytes). Allowed maximum size is ${MAX_FILE_BYTES} bytes.`,
      ],
      [
        'no file',
        () =>
          server.send('POST', '/api/v1/photos', {
            headers: as('refused'),
            body: form([['pending', 'true']]),
          }),
        /Send one photo .* got 0\./,
      ],
      [
        'two files',
        () =>
          server.send('POST', '/api/v1/photos', {
            headers: as('refused'),
            body: form([
              ['image', { filename: 'a.jpg', data: jpeg }],
              ['file', { filename: 'b.jpg', data: jpeg }],
            ]),
          }),
        /got 2\./,
      ],
      [
        'an unknown file field',
        () => upload(as('refused'), [], { field: 'photo' }),
        /Unknown file field "photo"/,
      ],
      [
        'unknown fields',
        () =>
          upload(as('refused'), [
            ['aspect_ids', 'all'],
            ['caption', 'hi'],
          ]),
        'Invalid input. Unknown key "aspect_ids". Unknown key "caption".',
      ],
      [
        'an unknown query parameter',
        () => upload(as('refused'), [], {}, '/api/v1/photos?public=true'),
        'Invalid input. Unknown key "public".',
      ],
      [
        'a boolean that is not one',
        () => upload(as('refused'), [['pending', 'yes']]),
        /^Invalid input\. pending: /,
      ],
      [
        'pending and set_profile_picture both',
        () =>
          upload(as('refused'), [
            ['pending', 'true'],
            ['set_profile_picture', 'true'],
          ]),
        /A pending photo cannot become the profile picture/,
      ],
      [
        'a body that is not multipart',
        () => server.send('POST', '/api/v1/photos', { headers: as('refused'), body: { a: 1 } }),
        /multipart\/form-data/,
      ],
      [
        'bytes stored already',
        () => upload(as('refused'), [], { data: twice }),
        `The same file is already stored as photo ${guidOf(first)}.`,
      ],
    ]
    for (const [what, send, detail] of cases) {
      const got = await send()
      expect(got.status, what).toBe(422)
      expect(got.json, what).toEqual({
        ...CREATE_FAILED,
        detail: typeof detail === 'string' ? detail : expect.stringMatching(detail),
      })
    }
    const listed = await server.send('GET', '/api/v1/photos', { headers: as('refused') })
    expect(listed.json).toEqual([first.json])
  })

  it("refuses an upload past the owner's quota as the documented 422", async () => {
    const admin = { ownerId: 'root', scopes: ['admin'] }
    await server.darkroom.owners.setQuota(admin, { ownerId: 'quota-user', quotaBytes: 1000 })
    const got = await upload(as('quota-user'))
    expect(got.status).toBe(422)
    expect(got.json).toEqual({ ...CREATE_FAILED, detail: expect.stringMatching(/quota/i) })
  })

  it('is 401 without credentials and 403 for a key that may only read', async () => {
    const anonymous = await upload({})
    expect(anonymous.status).toBe(401)
    expect(anonymous.json).toEqual({ code: 401, message: expect.any(String) })
    const readOnly = await upload(server.bearer(server.keys.aliceReadOnly))
    expect(readOnly.status).toBe(403)
    expect(readOnly.json).toEqual({
      code: 403,
      message: 'This operation needs the "photos.write" scope.',
    })
  })
})

describe('DELETE /api/v1/photos/:photo_guid', () => {
  it('answers 204 No Content and the photo is gone, bytes and all', async () => {
    const sent = await upload(server.bearer(server.keys.alice))
    const guid = guidOf(sent)
    const got = await server.send('DELETE', `/api/v1/photos/${guid}`, {
      headers: server.bearer(server.keys.aliceWriteOnly),
    })
    expect(got.status).toBe(204)
    expect(got.text).toBe('')

    const again = await server.send('GET', `/api/v1/photos/${guid}`, {
      headers: server.bearer(server.keys.alice),
    })
    expect(again.json).toEqual(NOT_FOUND)
    const small = (sent.json as { sizes: { small: string } }).sizes.small
    const picture = await fetch(small, { headers: server.bearer(server.keys.alice) })
    expect(picture.status).toBe(404)
  })

  it("is the documented 404 for a missing, malformed or another owner's photo", async () => {
    const bobs = await upload(server.bearer(server.keys.bob))
    for (const guid of ['0a992a10b9db0133e40e406c8f31e210', 'nope', guidOf(bobs)]) {
      const got = await server.send('DELETE', `/api/v1/photos/${guid}`, {
        headers: server.bearer(server.keys.alice),
      })
      expect(got.status, guid).toBe(404)
      expect(got.json, guid).toEqual(NOT_FOUND)
    }
    const still = await server.send('GET', `/api/v1/photos/${guidOf(bobs)}`, {
      headers: server.bearer(server.keys.bob),
    })
    expect(still.status).toBe(200)
  })

  it('is 401 without credentials', async () => {
    const sent = await upload(as('deleter'))
    const got = await server.send('DELETE', `/api/v1/photos/${guidOf(sent)}`)
    expect(got.status).toBe(401)
    expect(got.json).toEqual({ code: 401, message: expect.any(String) })
  })
})

describe('GET /api/v1/user (beyond the photos document)', () => {
  it('leaves the avatar out once its photo is deleted', async () => {
    const chosen = await upload(as('avatar-2'), [['set_profile_picture', 'true']])
    await server.send('DELETE', `/api/v1/photos/${guidOf(chosen)}`, { headers: as('avatar-2') })
    const got = await server.send('GET', '/api/v1/user', { headers: as('avatar-2') })
    expect(got.json).toEqual({ guid: 'avatar-2' })
  })
})

describe('the profile as a whole', () => {
  it('answers 405 with Allow in its own error shape for other methods', async () => {
    const got = await server.send('PUT', '/api/v1/photos', { headers: as('x') })
    expect(got.status).toBe(405)
    expect(got.headers.get('allow')).toBe('GET, HEAD, POST')
    expect(got.json).toEqual({ code: 405, message: 'Use GET, HEAD, POST on this path.' })
  })

  it('works under its own base path, its URLs and links included', async () => {
    await upload(as('based'), [], {}, '/social/api/v1/photos')
    await upload(as('based'), [], {}, '/social/api/v1/photos')
    const got = await server.send('GET', '/social/api/v1/photos?per_page=1', {
      headers: as('based'),
    })
    expect(got.json).toEqual([documented()])
    expect(got.headers.get('link')).toBe(
      `<${server.origin}/social/api/v1/photos?page=2&per_page=1>; rel="next"`,
    )
  })

  it('answers an unexpected error as a bare 500 and logs it', async () => {
    const logged: unknown[] = []
    const logger = { error: (entry: unknown) => logged.push(entry) }
    const deps = { logger } as unknown as ProfileDeps
    const response = socialProfile.errorResponse(new Error('SELECT secret FROM keys'), deps)
    expect(response.status).toBe(500)
    expect(await response.json()).toEqual({ code: 500, message: 'Internal server error' })
    expect(logged).toHaveLength(1)
  })
})
