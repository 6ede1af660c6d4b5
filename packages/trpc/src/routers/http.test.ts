import { fetchRequestHandler } from '@trpc/server/adapters/fetch'
import { describe, expect, it } from 'vitest'
import { createApiKey } from '../records/api-keys.js'
import { createContext } from '../context.js'
import { jpeg, makeHarness, uploadForm } from '../internal/harness.test-utils.js'

// Through tRPC's fetch adapter, as the server mounts it: real multipart parsing, real statuses.
async function setup() {
  const h = await makeHarness()
  const { key } = await createApiKey(h.serverStore, {
    ownerId: 'alice',
    name: 'http',
    scopes: ['photos.read', 'photos.write'],
  })
  const send = (path: string, init: RequestInit = {}, auth = true) =>
    fetchRequestHandler({
      endpoint: '/trpc',
      router: h.router,
      createContext,
      req: new Request(`http://localhost/trpc/${path}`, {
        ...init,
        headers: { ...(auth ? { authorization: `Bearer ${key}` } : {}), ...init.headers },
      }),
    })
  return { h, send }
}

describe('over HTTP (fetch adapter)', () => {
  it('photos.upload takes multipart/form-data', async () => {
    const { send } = await setup()
    const form = uploadForm(
      [
        { name: 'a.jpg', bytes: await jpeg() },
        { name: 'b.jpg', bytes: await jpeg() },
      ],
      { category: 'party', pending: '0' },
    )
    const response = await send('photos.upload', { method: 'POST', body: form })
    expect(response.status).toBe(200)
    const body = (await response.json()) as { result: { data: { uploaded: unknown[] } } }
    expect(body.result.data.uploaded).toHaveLength(2)
    expect(body.result.data.uploaded[0]).toMatchObject({ ownerId: 'alice', category: 'party' })
  })

  it('answers 422 with violations, 401 without a key, 404 for someone else’s photo', async () => {
    const { send } = await setup()
    const invalid = await send(`photos.list?input=${encodeURIComponent('{"limit":0}')}`)
    expect(invalid.status).toBe(422)
    const body = (await invalid.json()) as { error: { message: string; data: unknown } }
    expect(body.error.data).toEqual({
      code: 'UNPROCESSABLE_CONTENT',
      httpStatus: 422,
      path: 'photos.list',
      darkroom: {
        code: 'VALIDATION',
        violations: [
          {
            property: 'limit',
            message: 'The limit is a whole number from 1 to 200.',
            reason: 'too_small',
          },
        ],
        cap: null,
      },
    })
    expect(JSON.stringify(body)).not.toContain('stack')

    expect((await send('albums.list', {}, false)).status).toBe(401)
    const missing = await send(`photos.get?input=${encodeURIComponent('{"id":"nope"}')}`)
    expect(missing.status).toBe(404)
  })

  it('batches JSON calls (one key lookup per request)', async () => {
    const { send } = await setup()
    const response = await send('albums.list,keys.list?batch=1&input=%7B%7D')
    expect(response.status).toBe(200)
    const body = (await response.json()) as Array<{ result: { data: unknown[] } }>
    expect(body.map((r) => r.result.data.length)).toEqual([0, 1])
  })

  it('refuses unknown keys with 422, one violation per key naming the keys allowed', async () => {
    const { h, send } = await setup()
    const { uploaded } = await h.alice.photos.upload(
      uploadForm([{ name: 'a.jpg', bytes: await jpeg() }]),
    )
    const id = uploaded[0]!.id
    const update = await send('photos.update', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, is_hidden: true, caption: 'x' }),
    })
    expect(update.status).toBe(422)
    const allowed =
      'Allowed: id, description, filename, isPublic, hidden, category, pending, postId, width, height.'
    expect(await violationsOf(update)).toEqual([
      {
        property: 'is_hidden',
        message: `Unknown key "is_hidden". ${allowed}`,
        reason: 'unrecognized_keys',
      },
      {
        property: 'caption',
        message: `Unknown key "caption". ${allowed}`,
        reason: 'unrecognized_keys',
      },
    ])
    expect((await h.alice.photos.get({ id })).hidden).toBe(false)

    const list = await send(`photos.list?input=${encodeURIComponent('{"category_id":"x"}')}`)
    expect(list.status).toBe(422)
    expect(await violationsOf(list)).toEqual([
      expect.objectContaining({
        property: 'category_id',
        message: expect.stringMatching(/^Unknown key "category_id"\. Allowed: albumId, category, /),
      }),
    ])
    // In a batch, only the call with the unknown key fails.
    const batch = await send(
      `albums.list,photos.get?batch=1&input=${encodeURIComponent(JSON.stringify({ 1: { id, extra: 1 } }))}`,
    )
    const [albums, get] = (await batch.json()) as [
      { result?: unknown },
      { error?: { data: { httpStatus: number } } },
    ]
    expect(albums.result).toBeDefined()
    expect(get.error?.data.httpStatus).toBe(422)
  })

  it('refuses unknown form fields of photos.upload; file, image and photos name files', async () => {
    const { h, send } = await setup()
    const album = await h.alice.albums.create({ title: 'Party' })
    const form = uploadForm([{ name: 'a.jpg', bytes: await jpeg() }], { album_id: album.id })
    const refused = await send('photos.upload', { method: 'POST', body: form })
    expect(refused.status).toBe(422)
    expect(await violationsOf(refused)).toEqual([
      {
        property: 'album_id',
        message:
          'Unknown key "album_id". Allowed: files, file, image, photos, albumId, category, ' +
          'description, isPublic, pending, setProfilePicture, postId.',
        reason: 'unrecognized_keys',
      },
    ])
    expect((await h.alice.photos.list({})).total).toBe(0)

    const aliases = new FormData()
    for (const name of ['file', 'image', 'photos']) {
      aliases.append(name, new File([await jpeg()], `${name}.jpg`))
    }
    aliases.append('albumId', album.id)
    const accepted = await send('photos.upload', { method: 'POST', body: aliases })
    expect(accepted.status).toBe(200)
    const body = (await accepted.json()) as {
      result: { data: { uploaded: { filename: string }[] } }
    }
    expect(body.result.data.uploaded.map((p) => p.filename)).toEqual([
      'file.jpg',
      'image.jpg',
      'photos.jpg',
    ])
    expect((await h.alice.photos.list({ albumId: album.id })).total).toBe(3)

    const notFile = new FormData()
    notFile.append('files', new File([await jpeg()], 'a.jpg'))
    notFile.append('image', 'not a file')
    notFile.append('isPublic', 'maybe')
    const wrong = await send('photos.upload', { method: 'POST', body: notFile })
    expect(await violationsOf(wrong)).toEqual([
      expect.objectContaining({
        property: 'files[1]',
        message: expect.stringContaining('"files"'),
      }),
      expect.objectContaining({
        property: 'isPublic',
        message: 'isPublic: expected true or false (or 1/0, on/off, yes/no).',
      }),
    ])
  })

  it('names the property in every violation', async () => {
    const { send } = await setup()
    const post = (path: string, input: unknown) =>
      send(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input),
      })
    const get = (path: string, input: unknown) =>
      send(`${path}?input=${encodeURIComponent(JSON.stringify(input))}`)

    expect(await violationsOf(await post('photos.update', {}))).toEqual([
      { property: 'id', message: 'id is required.', reason: 'invalid_type' },
    ])
    expect(await violationsOf(await post('photos.update', { id: 5 }))).toEqual([
      { property: 'id', message: 'id: expected a string, received number', reason: 'invalid_type' },
    ])
    expect(await violationsOf(await get('photos.get', 'abc'))).toEqual([
      {
        property: 'input',
        message: 'input: expected an object, received string',
        reason: 'invalid_type',
      },
    ])
    expect(await violationsOf(await get('photos.getMany', { ids: ['a', 7, ''] }))).toEqual([
      {
        property: 'ids[1]',
        message: 'ids[1]: expected a string, received number',
        reason: 'invalid_type',
      },
      { property: 'ids[2]', message: 'An id is required.', reason: 'too_small' },
    ])
    expect(
      await violationsOf(await get('photos.list', { sort: 'nope', hidden: 'yes', limit: 1.5 })),
    ).toEqual([
      {
        property: 'hidden',
        message: 'hidden: expected a boolean, received string',
        reason: 'invalid_type',
      },
      {
        property: 'sort',
        message:
          'sort: expected one of "uploaded", "taken", "filename", "size", "rating", "position"',
        reason: 'invalid_value',
      },
      // A schema's own message that names its property stays as it is.
      {
        property: 'limit',
        message: 'The limit is a whole number from 1 to 200.',
        reason: 'invalid_type',
      },
    ])
    // One that does not gets the property in front.
    expect(await violationsOf(await post('photos.move', { id: 'a', albumId: ' ' }))).toEqual([
      { property: 'albumId', message: 'albumId: An id is required.', reason: 'too_small' },
    ])
    expect(
      await violationsOf(
        await post('albums.update', { id: 'a', title: 'x'.repeat(201), photoCap: 'many' }),
      ),
    ).toEqual([
      { property: 'title', message: 'The title has 1 to 200 characters.', reason: 'too_big' },
      {
        property: 'photoCap',
        message: 'photoCap: expected a number, received string',
        reason: 'invalid_type',
      },
    ])
    expect(await violationsOf(await post('photos.update', { id: 'a', filename: '' }))).toEqual([
      { property: 'filename', message: 'filename: at least 1 character', reason: 'too_small' },
    ])
  })
})

async function violationsOf(response: Response): Promise<unknown> {
  expect(response.status).toBe(422)
  const body = (await response.json()) as {
    error: { data: { darkroom: { code: string; violations: unknown[] } } }
  }
  expect(body.error.data.darkroom.code).toBe('VALIDATION')
  return body.error.data.darkroom.violations
}
