import type { Photo } from '@darkroom/core'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createImagehostProfile } from './imagehost.js'
import type { ProfileDeps } from './profile.js'
import {
  form,
  makeJpeg,
  makePng,
  startProfileServer,
  type ProfileServer,
} from './testing/harness.js'

/**
 * The image host seed replayed over raw HTTP: every request its document shows, as it shows it,
 * and what the document says comes back; plus what keeps it honest (someone else's image is a
 * 404, no credentials is a 401, unknown keys are refused). The app's sign-in (`x-user`) stands
 * in for the seed's JWT. The profile is mounted at the root with a 1 MB limit, the document's.
 */

const SYMFONY = 'Symfony.Component.HttpKernel.Exception.'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

let server: ProfileServer
/** Guest uploads off, the profile by name with its defaults. */
let closed: ProfileServer

beforeAll(async () => {
  server = await startProfileServer({
    profiles: [createImagehostProfile({ maxFileBytes: 1_000_000 })],
    guestUploads: true,
  })
  closed = await startProfileServer({ profiles: ['imagehost'] })
})
afterAll(async () => {
  await server?.close()
  await closed?.close()
})

/** The app's sign-in, standing in for `Authorization: Bearer <jwt_access_token>`. */
const jwt = (user: string) => ({ 'x-user': user })

/** `curl -F image=@<filename>`. */
const imageForm = (data: Uint8Array, filename = 'photo.jpg', type = 'image/jpeg') =>
  form([['image', { filename, data, type }]])

async function upload(user: string, data: Uint8Array, filename = 'photo.jpg'): Promise<string> {
  const sent = await server.send('POST', '/api/upload', {
    headers: jwt(user),
    body: imageForm(data, filename),
  })
  expect(sent.status).toBe(201)
  return (sent.json as { id: string }).id
}

/** The photo as core has it, read by its owner. */
async function photoOf(owner: string, id: string): Promise<Photo> {
  return server.darkroom.photos.get({ ownerId: owner, scopes: ['photos.read'] }, { id })
}

function validation(...violations: { property: string; message: string }[]) {
  return { error: { title: `${SYMFONY}HttpException`, message: 'Validation Error', violations } }
}

/** A file of exactly `size` bytes that starts as a JPEG (trailing bytes are allowed). */
async function jpegOfSize(size: number): Promise<Buffer> {
  const jpeg = await makeJpeg(64, 64)
  return Buffer.concat([jpeg, Buffer.alloc(size - jpeg.length)])
}

const PDF = Buffer.from('%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n'.padEnd(6000, ' '))

describe('POST or PUT /api/upload', () => {
  it('answers 201 with the new image id, for POST and PUT', async () => {
    for (const method of ['POST', 'PUT']) {
      const sent = await server.send(method, '/api/upload', {
        headers: jwt('alice'),
        body: imageForm(await makeJpeg(320, 240)),
      })
      expect(sent.status).toBe(201)
      expect(sent.json).toEqual({ id: expect.stringMatching(UUID) })
      const photo = await photoOf('alice', (sent.json as { id: string }).id)
      expect(photo).toMatchObject({ ownerId: 'alice', isPublic: false, mimeType: 'image/jpeg' })
    }
  })

  it('refuses a file over the limit with the documented 422, in decimal megabytes', async () => {
    const sent = await server.send('POST', '/api/upload', {
      headers: jwt('alice'),
      body: imageForm(await jpegOfSize(2_140_000)),
    })
    expect(sent.status).toBe(422)
    expect(sent.text).toBe(
      JSON.stringify({
        error: {
          title: 'Symfony.Component.HttpKernel.Exception.HttpException',
          message: 'Validation Error',
          violations: [
            {
              property: 'image',
              message: 'The file is too large (2.14 MB). Allowed maximum size is 1 MB.',
            },
          ],
        },
      }),
    )
  })

  it('refuses a type from its bytes with the documented 422, whatever the client says', async () => {
    const sent = await server.send('POST', '/api/upload', {
      headers: jwt('alice'),
      body: imageForm(PDF, 'scan.jpg', 'image/jpeg'),
    })
    expect(sent.status).toBe(422)
    expect(sent.text).toBe(
      JSON.stringify({
        error: {
          title: 'Symfony.Component.HttpKernel.Exception.HttpException',
          message: 'Validation Error',
          violations: [
            {
              property: 'image',
              message:
                'The mime type of the file is invalid ("application/pdf"). Allowed mime types are "image/jpeg", "image/png", "image/webp", "image/gif".',
            },
          ],
        },
      }),
    )
    // A type the engine takes but the image host does not.
    const tiff = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#123' } })
      .tiff()
      .toBuffer()
    const refused = await server.send('POST', '/api/upload', {
      headers: jwt('alice'),
      body: imageForm(tiff, 'scan.tif', 'image/tiff'),
    })
    expect(refused.status).toBe(422)
    expect(refused.json).toEqual(
      validation({
        property: 'image',
        message: expect.stringContaining('invalid ("image/tiff")') as unknown as string,
      }),
    )
  })

  it('answers 422 for two files as for one, and for no file', async () => {
    const big = await jpegOfSize(1_500_000)
    const two = await server.send('POST', '/api/upload', {
      headers: jwt('alice'),
      body: form([
        ['image', { filename: 'a.jpg', data: big }],
        ['image', { filename: 'b.jpg', data: big }],
      ]),
    })
    expect(two.status).toBe(422)
    expect(two.json).toEqual(
      validation({ property: 'image', message: 'Send one file per upload (got 2).' }),
    )
    const none = await server.send('POST', '/api/upload', {
      headers: jwt('alice'),
      body: form([]),
    })
    expect(none.status).toBe(422)
    expect(none.json).toEqual(validation({ property: 'image', message: 'No file was uploaded.' }))
    const empty = await server.send('POST', '/api/upload', {
      headers: jwt('alice'),
      body: imageForm(new Uint8Array(0)),
    })
    expect(empty.status).toBe(422)
    expect(empty.json).toEqual(validation({ property: 'image', message: 'The file is empty.' }))
  })

  it('refuses unknown form fields, file fields and query parameters, naming each', async () => {
    const data = await makeJpeg(64, 64)
    const field = await server.send('POST', '/api/upload', {
      headers: jwt('alice'),
      body: form([
        ['title', 'x'],
        ['image', { filename: 'a.jpg', data }],
      ]),
    })
    expect(field.status).toBe(422)
    expect(field.json).toEqual(validation({ property: 'title', message: 'Unknown field "title".' }))
    const file = await server.send('POST', '/api/upload', {
      headers: jwt('alice'),
      body: form([['photo', { filename: 'a.jpg', data }]]),
    })
    expect(file.json).toEqual(
      validation({
        property: 'photo',
        message: 'Unknown file field "photo". Send files as "image".',
      }),
    )
    const query = await server.send('POST', '/api/upload?album=1', {
      headers: jwt('alice'),
      body: imageForm(data),
    })
    expect(query.status).toBe(422)
    expect(query.json).toEqual(validation({ property: 'album', message: 'Unknown key "album".' }))
  })

  it('answers the same id for the same bytes, and 401/403/415 in the Symfony shape', async () => {
    const data = await makeJpeg(64, 64)
    const first = await upload('alice', data)
    expect(await upload('alice', data, 'again.jpg')).toBe(first)

    const anonymous = await server.send('POST', '/api/upload', { body: imageForm(data) })
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect(anonymous.json).toEqual({
      error: {
        title: `${SYMFONY}UnauthorizedHttpException`,
        message: 'Full authentication is required to access this resource.',
      },
    })
    const readOnly = await server.send('POST', '/api/upload', {
      headers: server.bearer(server.keys.aliceReadOnly),
      body: imageForm(data),
    })
    expect(readOnly.status).toBe(403)
    expect(readOnly.json).toEqual({
      error: {
        title: `${SYMFONY}AccessDeniedHttpException`,
        message: 'This operation needs the "photos.write" scope.',
      },
    })
    const json = await server.send('POST', '/api/upload', { headers: jwt('alice'), body: {} })
    expect(json.status).toBe(415)
    expect(json.json).toMatchObject({
      error: { title: `${SYMFONY}UnsupportedMediaTypeHttpException` },
    })
    const get = await server.send('GET', '/api/upload', { headers: jwt('alice') })
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST, PUT')
    expect(get.json).toEqual({
      error: {
        title: `${SYMFONY}MethodNotAllowedHttpException`,
        message: 'Use POST, PUT on this path.',
      },
    })
  })
})

describe('POST or PUT /api/guest/upload', () => {
  it('takes an upload without credentials when guest uploads are on: a public image', async () => {
    for (const method of ['POST', 'PUT']) {
      const sent = await server.send(method, '/api/guest/upload', {
        body: imageForm(await makeJpeg(200, 100)),
      })
      expect(sent.status).toBe(201)
      expect(sent.json).toEqual({ id: expect.stringMatching(UUID) })
      const id = (sent.json as { id: string }).id
      expect(await photoOf('guest', id)).toMatchObject({ ownerId: 'guest', isPublic: true })
      const served = await server.send('GET', `/api/image/${id}.jpg`)
      expect(served.status).toBe(200)
    }
  })

  it('answers a guest that sends bytes already stored with a 422 that names no photo', async () => {
    const data = await makeJpeg(120, 80)
    const first = await server.send('POST', '/api/guest/upload', { body: imageForm(data) })
    expect(first.status).toBe(201)
    const { id } = first.json as { id: string }
    const again = await server.send('POST', '/api/guest/upload', { body: imageForm(data) })
    expect(again.status).toBe(422)
    expect(JSON.stringify(again.json)).not.toContain(id)
    expect(JSON.stringify(again.json)).toContain('The same file is already stored.')
  })

  it('checks a guest file as any other, and refuses with 403 when guest uploads are off', async () => {
    const big = await server.send('POST', '/api/guest/upload', {
      body: imageForm(await jpegOfSize(2_140_000)),
    })
    expect(big.status).toBe(422)
    const off = await closed.send('POST', '/api/guest/upload', {
      body: imageForm(await makeJpeg(64, 64)),
    })
    expect(off.status).toBe(403)
    expect(off.json).toEqual({
      error: {
        title: `${SYMFONY}AccessDeniedHttpException`,
        message: 'Guest uploads are disabled.',
      },
    })
  })
})

describe('POST or PUT /api/external/upload', () => {
  it('answers 201 with id, url and thumbnailUrl, each served at /api/image/...', async () => {
    const data = await makeJpeg(1600, 1200)
    const sent = await server.send('POST', '/api/external/upload', {
      headers: server.bearer(server.keys.alice),
      body: imageForm(data),
    })
    expect(sent.status).toBe(201)
    const { id } = sent.json as { id: string }
    expect(sent.json).toEqual({
      id: expect.stringMatching(UUID),
      url: `/api/image/${id}.jpg`,
      // The thumbnail is core's `small` variant, in its own format (WebP by default).
      thumbnailUrl: `/api/image/${id}_thumbnail.webp`,
    })
    const original = await fetch(`${server.origin}/api/image/${id}.jpg`, {
      headers: server.bearer(server.keys.alice),
    })
    expect(original.status).toBe(200)
    expect(original.headers.get('content-type')).toBe('image/jpeg')
    expect(Buffer.from(await original.arrayBuffer()).equals(data)).toBe(true)
    const thumb = await fetch(`${server.origin}/api/image/${id}_thumbnail.webp`, {
      headers: server.bearer(server.keys.alice),
    })
    expect(thumb.status).toBe(200)
    expect(thumb.headers.get('content-type')).toBe('image/webp')
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()
    expect(meta).toMatchObject({ format: 'webp', width: 320, height: 240 })

    const put = await server.send('PUT', '/api/external/upload', {
      headers: server.bearer(server.keys.bob),
      body: imageForm(await makePng(40, 30), 'b.png', 'image/png'),
    })
    expect(put.status).toBe(201)
    const bobs = (put.json as { id: string }).id
    expect(put.json).toMatchObject({ url: `/api/image/${bobs}.png` })
  })

  it('refuses the app sign-in without an API key, and a bad key, with 401', async () => {
    const data = await makeJpeg(64, 64)
    const signedIn = await server.send('POST', '/api/external/upload', {
      headers: jwt('alice'),
      body: imageForm(data),
    })
    expect(signedIn.status).toBe(401)
    expect(signedIn.json).toEqual({
      error: {
        title: `${SYMFONY}UnauthorizedHttpException`,
        message: 'An API key is required (Authorization: Bearer sk_...).',
      },
    })
    const bad = await server.send('POST', '/api/external/upload', {
      headers: server.bearer('sk_1234567890abcdef'),
      body: imageForm(data),
    })
    expect(bad.status).toBe(401)
    expect(bad.json).toEqual({
      error: { title: `${SYMFONY}UnauthorizedHttpException`, message: 'The API key is not valid.' },
    })
  })
})

describe('GET /api/image/{id}.{ext} and /api/image/{id}_thumbnail.{ext}', () => {
  it("serves the owner's original and thumbnail as /photos does; others get 404", async () => {
    const id = await upload('alice', await makeJpeg(640, 480))
    const own = await server.send('GET', `/api/image/${id}.jpg`, { headers: jwt('alice') })
    expect(own.status).toBe(200)
    expect(own.headers.get('cache-control')).toBe('private, max-age=3600')
    const etag = own.headers.get('etag')!
    const again = await server.send('GET', `/api/image/${id}.jpg`, {
      headers: { ...jwt('alice'), 'if-none-match': etag },
    })
    expect(again.status).toBe(304)
    expect(
      (await server.send('GET', `/api/image/${id}.jpeg`, { headers: jwt('alice') })).status,
    ).toBe(200)
    const head = await server.send('HEAD', `/api/image/${id}_thumbnail.webp`, {
      headers: jwt('alice'),
    })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-type')).toBe('image/webp')
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0)
    expect(head.text).toBe('')
    expect((await photoOf('alice', id)).downloads).toBe(2)

    for (const path of [`/api/image/${id}.jpg`, `/api/image/${id}_thumbnail.webp`]) {
      const anonymous = await server.send('GET', path)
      expect(anonymous.status).toBe(404)
      expect(anonymous.json).toEqual({
        error: {
          title: `${SYMFONY}NotFoundHttpException`,
          message: `Photo "${id}" was not found.`,
        },
      })
      expect((await server.send('GET', path, { headers: jwt('bob') })).status).toBe(404)
    }
  })

  it('answers 404 for an extension other than the stored type, and 422 for a query', async () => {
    const id = await upload('alice', await makeJpeg(64, 64))
    for (const file of [`${id}.png`, `${id}_thumbnail.jpg`, `${id}.jpg.jpg`]) {
      const sent = await server.send('GET', `/api/image/${file}`, { headers: jwt('alice') })
      expect(sent.status).toBe(404)
      expect(sent.json).toMatchObject({ error: { title: `${SYMFONY}NotFoundHttpException` } })
    }
    const query = await server.send('GET', `/api/image/${id}.jpg?w=10`, { headers: jwt('alice') })
    expect(query.status).toBe(422)
    expect(query.json).toEqual(validation({ property: 'w', message: 'Unknown key "w".' }))
  })
})

describe('GET /image/{id}.{ext} (Darkroom`s own /image route)', () => {
  let id: string
  beforeAll(async () => {
    id = await upload('alice', await makeJpeg(1600, 1200))
    await server.darkroom.photos.update(
      { ownerId: 'alice', scopes: ['photos.write'] },
      { id, isPublic: true },
    )
  })

  async function picture(path: string) {
    const response = await fetch(`${server.origin}${path}`)
    expect(response.status).toBe(200)
    const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata()
    return { type: response.headers.get('content-type'), meta }
  }

  it('replays the documented examples without credentials', async () => {
    const plain = await picture(`/image/${id}.jpg`)
    expect(plain).toMatchObject({ type: 'image/jpeg', meta: { width: 1600, height: 1200 } })
    const sized = await picture(`/image/${id}.jpg?w=800&h=600`)
    expect(sized.meta).toMatchObject({ format: 'jpeg', width: 800, height: 600 })
    const cropped = await picture(`/image/${id}.webp?w=300&crop=true`)
    expect(cropped).toMatchObject({ type: 'image/webp', meta: { format: 'webp', width: 300 } })
    const square = await picture(`/image/${id}.jpg?w=400&h=400&crop=true`)
    expect(square.meta).toMatchObject({ width: 400, height: 400 })
    const fitted = await picture(`/image/${id}.jpg?w=400&h=400&crop=false`)
    expect(fitted.meta).toMatchObject({ width: 400, height: 300 })
    const wide = await picture(`/image/${id}.jpg?w=800`)
    expect(wide.meta).toMatchObject({ width: 800, height: 600 })
  })

  it('does not show a private image without its owner', async () => {
    const hidden = await upload('alice', await makeJpeg(64, 64))
    expect((await server.send('GET', `/image/${hidden}.jpg`)).status).toBe(404)
    expect(
      (await server.send('GET', `/image/${hidden}.jpg`, { headers: jwt('alice') })).status,
    ).toBe(200)
  })
})

describe('GET /api/image/{id}/detail', () => {
  it('answers every documented field, in the documented formats', async () => {
    const data = await makePng(360, 210)
    const id = await upload('dora', data, 'skyline.png')
    const sent = await server.send('GET', `/api/image/${id}/detail`, { headers: jwt('dora') })
    expect(sent.status).toBe(200)
    const photo = await photoOf('dora', id)
    const created = `${photo.createdAt.slice(0, 19)}.${photo.createdAt.slice(20, 23)}000+00:00`
    expect(sent.json).toEqual({
      id,
      fileName: 'skyline.png',
      description: '',
      isPublic: false,
      createdAt: created,
      updatedAt: null,
      views: 0,
      size: data.length,
      mimeType: 'image/png',
      width: 360,
      height: 210,
      supportsResize: true,
      url: `/image/${id}.png`,
    })
    expect(Object.keys(sent.json as object)).toEqual([
      'id',
      'fileName',
      'description',
      'isPublic',
      'createdAt',
      'updatedAt',
      'views',
      'size',
      'mimeType',
      'width',
      'height',
      'supportsResize',
      'url',
    ])
    expect(created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/)
    // The owner's own reads are not views.
    expect((await photoOf('dora', id)).views).toBe(0)
  })

  it("counts other people's views of a public image; a private one is theirs alone", async () => {
    const id = await upload('dora', await makeJpeg(64, 64))
    const foreign = await server.send('GET', `/api/image/${id}/detail`, { headers: jwt('bob') })
    expect(foreign.status).toBe(404)
    expect(foreign.json).toEqual({
      error: { title: `${SYMFONY}NotFoundHttpException`, message: `Photo "${id}" was not found.` },
    })
    const patched = await server.send('PATCH', `/api/image/${id}`, {
      headers: jwt('dora'),
      body: { isPublic: true },
    })
    expect(patched.status).toBe(204)
    await server.send('GET', `/api/image/${id}/detail`, { headers: jwt('bob') })
    const seen = await server.send('GET', `/api/image/${id}/detail`, { headers: jwt('bob') })
    expect(seen.json).toMatchObject({ views: 2, isPublic: true, updatedAt: expect.any(String) })
  })

  it('points a GIF at its original (the /image route does not render GIF)', async () => {
    const gif = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#f00' } })
      .gif()
      .toBuffer()
    const id = await upload('dora', gif, 'spin.gif')
    const sent = await server.send('GET', `/api/image/${id}/detail`, { headers: jwt('dora') })
    expect(sent.json).toMatchObject({
      mimeType: 'image/gif',
      supportsResize: false,
      url: `/api/image/${id}.gif`,
    })
    expect(
      (await server.send('GET', `/api/image/${id}.gif`, { headers: jwt('dora') })).status,
    ).toBe(200)
  })

  it('answers 401 without credentials and 422 for a query', async () => {
    const id = await upload('dora', await makeJpeg(64, 64))
    const anonymous = await server.send('GET', `/api/image/${id}/detail`)
    expect(anonymous.status).toBe(401)
    const query = await server.send('GET', `/api/image/${id}/detail?full=1`, {
      headers: jwt('dora'),
    })
    expect(query.json).toEqual(validation({ property: 'full', message: 'Unknown key "full".' }))
  })
})

describe('GET /api/images/{page}', () => {
  const ids: string[] = []
  beforeAll(async () => {
    for (const name of ['cherry.jpg', 'apple.jpg', 'banana.jpg']) {
      ids.push(await upload('erin', await makeJpeg(120, 90), name))
    }
    await upload('bob', await makeJpeg(64, 64))
  })

  it('answers meta and data as documented, newest first by default', async () => {
    const sent = await server.send('GET', '/api/images/1', { headers: jwt('erin') })
    expect(sent.status).toBe(200)
    const body = sent.json as { meta: unknown; data: Record<string, unknown>[] }
    expect(body.meta).toEqual({ size: 10, page: 1, total: 3, nextCursor: null, prevCursor: null })
    expect(body.data.map((d) => d.id)).toEqual([...ids].reverse())
    const photo = await photoOf('erin', ids[0]!)
    const created = new Date(photo.createdAt)
    const months = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ')
    expect(body.data[2]).toEqual({
      id: ids[0],
      owner: { id: 'erin', email: null, displayName: 'erin' },
      attributes: {
        fileName: 'cherry.jpg',
        description: '',
        isPublic: false,
        createdAt: {
          formattedDate: `${months[created.getUTCMonth()]} ${created.getUTCDate()}, ${created.getUTCFullYear()}`,
          timestamp: Math.floor(created.getTime() / 1000),
        },
        views: 0,
      },
      metadata: { size: photo.size, mimeType: 'image/jpeg', width: 120, height: 90 },
    })
    expect(Object.keys(body.data[0]!)).toEqual(['id', 'owner', 'attributes', 'metadata'])
  })

  it('pages by limit, by page and by cursor', async () => {
    const first = await server.send('GET', '/api/images/1?limit=2', { headers: jwt('erin') })
    const body = first.json as { meta: { nextCursor: string }; data: { id: string }[] }
    expect(body.meta).toMatchObject({ size: 2, page: 1, total: 3, prevCursor: null })
    expect(body.data.map((d) => d.id)).toEqual([ids[2], ids[1]])
    const second = await server.send('GET', '/api/images/2?limit=2', { headers: jwt('erin') })
    expect((second.json as { data: { id: string }[] }).data.map((d) => d.id)).toEqual([ids[0]])
    const cursor = await server.send(
      'GET',
      `/api/images/2?limit=2&cursor=${encodeURIComponent(body.meta.nextCursor)}`,
      { headers: jwt('erin') },
    )
    expect(cursor.json).toMatchObject({
      meta: { size: 2, page: 2, total: 3, nextCursor: null },
      data: [{ id: ids[0] }],
    })
  })

  it('orders by the seed fields and searches', async () => {
    const byName = await server.send('GET', '/api/images/1?orderBy=attributes.fileName', {
      headers: jwt('erin'),
    })
    const names = (byName.json as { data: { attributes: { fileName: string } }[] }).data.map(
      (d) => d.attributes.fileName,
    )
    expect(names).toEqual(['apple.jpg', 'banana.jpg', 'cherry.jpg'])
    const found = await server.send(
      'GET',
      '/api/images/1?searchTerm=BAN&searchBy=attributes.fileName',
      { headers: jwt('erin') },
    )
    expect(found.json).toMatchObject({ meta: { total: 1 }, data: [{ id: ids[2] }] })
  })

  it('refuses an unknown orderBy, searchBy or parameter, a bad page or limit, naming each', async () => {
    const sent = await server.send(
      'GET',
      '/api/images/1?orderBy=attributes.views&searchBy=owner.email&sort=1&limit=0',
      { headers: jwt('erin') },
    )
    expect(sent.status).toBe(422)
    expect(sent.json).toEqual(
      validation(
        { property: 'limit', message: 'limit is a whole number from 1.' },
        {
          property: 'orderBy',
          message:
            'Unknown orderBy "attributes.views"; use one of attributes.updatedAt, attributes.createdAt, attributes.fileName, metadata.size.',
        },
        {
          property: 'searchBy',
          message:
            'Unknown searchBy "owner.email"; use one of attributes.fileName, attributes.description.',
        },
        { property: 'sort', message: 'Unknown key "sort".' },
      ),
    )
    for (const page of ['0', 'two', '-1']) {
      const bad = await server.send('GET', `/api/images/${page}`, { headers: jwt('erin') })
      expect(bad.status).toBe(422)
      expect(bad.json).toEqual(
        validation({ property: 'page', message: 'page is a whole number from 1.' }),
      )
    }
    expect((await server.send('GET', '/api/images/1')).status).toBe(401)
  })
})

describe('GET /api/images?uuid[]=...', () => {
  it('answers the readable images among the ids, in the order asked', async () => {
    const mine = [
      await upload('fay', await makeJpeg(64, 64)),
      await upload('fay', await makeJpeg(64, 64)),
    ]
    const secret = await upload('bob', await makeJpeg(64, 64))
    const shared = await upload('bob', await makeJpeg(64, 64))
    await server.send('PATCH', `/api/image/${shared}`, {
      headers: jwt('bob'),
      body: { isPublic: true },
    })
    const sent = await server.send(
      'GET',
      `/api/images?uuid[]=${mine[1]}&uuid[]=${secret}&uuid%5B%5D=${mine[0]}&uuid[]=${shared}`,
      { headers: jwt('fay') },
    )
    expect(sent.status).toBe(200)
    const items = sent.json as { id: string; owner: { id: string } }[]
    expect(items.map((i) => i.id)).toEqual([mine[1], mine[0], shared])
    expect(items[2]!.owner).toEqual({ id: 'bob', email: null, displayName: 'bob' })
    expect(Object.keys(items[0]!)).toEqual(['id', 'owner', 'attributes', 'metadata'])

    const none = await server.send('GET', '/api/images', { headers: jwt('fay') })
    expect(none.json).toEqual([])
    const plain = await server.send('GET', `/api/images?uuid=${mine[0]}`, { headers: jwt('fay') })
    expect(plain.json).toEqual(validation({ property: 'uuid', message: 'Unknown key "uuid".' }))
  })
})

describe('GET /api/images/history/{page}', () => {
  it('answers the caller’s uploads, newest first, twelve a page', async () => {
    const ids: string[] = []
    for (let i = 0; i < 13; i++)
      ids.push(await upload('gus', await makePng(30, 20), `shot-${i}.png`))
    const first = await server.send('GET', '/api/images/history/1', { headers: jwt('gus') })
    expect(first.status).toBe(200)
    const body = first.json as { meta: unknown; data: Record<string, unknown>[] }
    expect(body.meta).toEqual({ size: 12, page: 1, total: 13 })
    expect(body.data).toHaveLength(12)
    const newest = await photoOf('gus', ids[12]!)
    expect(body.data[0]).toEqual({
      id: newest.id,
      attributes: {
        fileName: 'shot-12.png',
        description: '',
        isPublic: false,
        createdAt: {
          formattedDate: newest.createdAt.slice(0, 19).replace('T', ' '),
          timestamp: Math.floor(Date.parse(newest.createdAt) / 1000),
        },
        views: 0,
      },
      metadata: { size: newest.size, mimeType: 'image/png', width: 30, height: 20 },
      owner: { id: 'gus', email: null, username: 'gus', displayName: 'gus' },
    })
    expect(Object.keys(body.data[0]!)).toEqual(['id', 'attributes', 'metadata', 'owner'])
    const second = await server.send('GET', '/api/images/history/2', { headers: jwt('gus') })
    expect(second.json).toMatchObject({
      meta: { size: 12, page: 2, total: 13 },
      data: [{ id: ids[0] }],
    })
    const query = await server.send('GET', '/api/images/history/1?limit=5', {
      headers: jwt('gus'),
    })
    expect(query.json).toEqual(validation({ property: 'limit', message: 'Unknown key "limit".' }))
  })
})

describe('PATCH /api/image/{id}', () => {
  it('answers 204 and changes the description and visibility', async () => {
    const id = await upload('hana', await makeJpeg(64, 64))
    const sent = await server.send('PATCH', `/api/image/${id}`, {
      headers: { ...jwt('hana'), 'content-type': 'application/json' },
      body: '{\n"description": "Updated description",\n"isPublic": false\n}',
    })
    expect(sent.status).toBe(204)
    expect(sent.text).toBe('')
    expect(await photoOf('hana', id)).toMatchObject({
      description: 'Updated description',
      isPublic: false,
    })
    // `curl -d` labels JSON as a form; it is read as JSON all the same.
    const curl = await server.send('PATCH', `/api/image/${id}`, {
      headers: { ...jwt('hana'), 'content-type': 'application/x-www-form-urlencoded' },
      body: '{"isPublic": true}',
    })
    expect(curl.status).toBe(204)
    expect((await photoOf('hana', id)).isPublic).toBe(true)
  })

  it("refuses unknown keys and wrong types; someone else's image is 404", async () => {
    const id = await upload('hana', await makeJpeg(64, 64))
    const sent = await server.send('PATCH', `/api/image/${id}`, {
      headers: jwt('hana'),
      body: { description: 'x', isPublic: 'yes', title: 't' },
    })
    expect(sent.status).toBe(422)
    expect(sent.json).toEqual(
      validation(
        {
          property: 'isPublic',
          message: 'isPublic: expected a boolean, received string',
        },
        { property: 'title', message: 'Unknown key "title".' },
      ),
    )
    const foreign = await server.send('PATCH', `/api/image/${id}`, {
      headers: jwt('bob'),
      body: { description: 'mine now' },
    })
    expect(foreign.status).toBe(404)
    expect((await photoOf('hana', id)).description).toBe('')
    expect(
      (await server.send('PATCH', `/api/image/${id}`, { body: { isPublic: true } })).status,
    ).toBe(401)
  })
})

describe('DELETE /api/image/{id}', () => {
  it('answers 204 and removes the image, its files and its URLs', async () => {
    const id = await upload('ivan', await makeJpeg(64, 64))
    const sent = await server.send('DELETE', `/api/image/${id}`, {
      headers: { ...jwt('ivan'), 'content-type': 'application/json' },
      body: '{\n"preserveOnDisk": false\n}',
    })
    expect(sent.status).toBe(204)
    expect(sent.text).toBe('')
    await expect(photoOf('ivan', id)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    const gone = await server.send('GET', `/api/image/${id}/detail`, { headers: jwt('ivan') })
    expect(gone.status).toBe(404)
    const file = await server.send('GET', `/api/image/${id}.jpg`, { headers: jwt('ivan') })
    expect(file.status).toBe(404)
    const again = await server.send('DELETE', `/api/image/${id}`, { headers: jwt('ivan') })
    expect(again.status).toBe(404)
  })

  it("keeps the files with preserveOnDisk, refuses unknown keys; someone else's is 404", async () => {
    const id = await upload('ivan', await makeJpeg(64, 64))
    const unknown = await server.send('DELETE', `/api/image/${id}`, {
      headers: jwt('ivan'),
      body: { preserveOnDisk: false, force: true },
    })
    expect(unknown.json).toEqual(validation({ property: 'force', message: 'Unknown key "force".' }))
    const foreign = await server.send('DELETE', `/api/image/${id}`, {
      headers: jwt('bob'),
      body: { preserveOnDisk: false },
    })
    expect(foreign.status).toBe(404)
    const kept = await server.send('DELETE', `/api/image/${id}`, {
      headers: jwt('ivan'),
      body: { preserveOnDisk: true },
    })
    expect(kept.status).toBe(204)
    await expect(photoOf('ivan', id)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})

describe('the profile options', () => {
  it('refuses, at mount, types the engine does not take and a limit above the engine’s', () => {
    const deps = { darkroom: server.darkroom } as ProfileDeps
    const bmp = createImagehostProfile({ allowedMimeTypes: ['image/bmp'] })
    expect(() => bmp.routes(deps)).toThrow(/allowedMimeTypes must be types the engine allows/)
    const huge = createImagehostProfile({ maxFileBytes: 100 * 1024 * 1024 })
    expect(() => huge.routes(deps)).toThrow(/maxFileBytes must be a whole number from 1/)
  })

  it('words a limit that is no whole number of MB or kB in bytes, as Symfony does', async () => {
    const mebibyte = await startProfileServer({
      profiles: [createImagehostProfile({ maxFileBytes: 1_048_576 })],
    })
    try {
      const sent = await mebibyte.send('POST', '/api/upload', {
        headers: jwt('alice'),
        body: imageForm(await jpegOfSize(1_100_000)),
      })
      expect(sent.json).toEqual(
        validation({
          property: 'image',
          message: 'The file is too large (1100000 bytes). Allowed maximum size is 1048576 bytes.',
        }),
      )
    } finally {
      await mebibyte.close()
    }
  })
})
