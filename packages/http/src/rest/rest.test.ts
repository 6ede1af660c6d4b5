import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { asPhoto, makeTestDarkroom, MemoryServerStore, photosOf } from '@darkroom/core/testing'
import { createApiKey } from '@darkroom/trpc'
import createClient from 'openapi-fetch'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDarkroomHandler } from '../handler.js'
import {
  makeJpeg,
  makePng,
  startProfileServer,
  type ProfileServer,
} from '../profiles/testing/harness.js'
import { REST_PREFIX } from './operations.js'
import type { paths } from './testing/openapi.js'
import { defaultOpenApiDocument } from './testing/openapi-types.js'

/**
 * The REST twin on a real server (node:http on 127.0.0.1, SQLite and files in a temp dir),
 * driven by `openapi-fetch` typed by the `paths` that `openapi-typescript` generated from the
 * served OpenAPI document: the non-tRPC client. Raw `send` covers what a typed client cannot
 * send (unknown keys, bad values, oversized bodies).
 */

type Upload = { filename: string; bytes: Uint8Array }
type UploadBody = paths['/photos']['post']['requestBody']['content']['multipart/form-data']
type FileField = 'files' | 'file' | 'image' | 'photos'

/** The upload's body as openapi-fetch takes it (files as Blobs), and its multipart serializer. */
function multipart(
  fields: Omit<UploadBody, FileField>,
  files: Upload[],
  field: FileField = 'files',
) {
  const body: UploadBody = {
    ...fields,
    [field]: files.map((f) => new File([new Uint8Array(f.bytes)], f.filename)),
  }
  return {
    body,
    bodySerializer(body: UploadBody) {
      const form = new FormData()
      for (const [name, value] of Object.entries(body)) {
        if (Array.isArray(value)) for (const file of value) form.append(name, file)
        else if (value !== undefined) form.append(name, String(value))
      }
      return form
    },
  }
}

describe('REST twin, through a client generated from its OpenAPI document', () => {
  let server: ProfileServer
  const api = (key?: string) =>
    createClient<paths>({
      baseUrl: `${server.origin}${REST_PREFIX}`,
      headers: key ? server.bearer(key) : {},
    })

  beforeAll(async () => {
    server = await startProfileServer({ profiles: [] })
  })
  afterAll(() => server?.close())

  it('uploads (multipart, 201), lists with filters, gets, updates, deletes (204)', async () => {
    const alice = api(server.keys.alice)
    const album = await alice.POST('/albums', { body: { title: 'Trip' } })
    expect(album.response.status).toBe(201)
    const albumId = album.data!.id

    const upload = await alice.POST('/photos', {
      ...multipart({ albumId, category: 'beach', pending: 'false' }, [
        { filename: 'a.jpg', bytes: await makeJpeg(640, 480) },
        { filename: 'b.png', bytes: await makePng(30, 60) },
      ]),
    })
    expect(upload.response.status).toBe(201)
    expect(upload.data!.skipped).toEqual([])
    const [a, b] = upload.data!.uploaded.sort((x, y) => x.index - y.index)
    expect(a).toMatchObject({ filename: 'a.jpg', albumId, category: 'beach', width: 640 })
    expect(b).toMatchObject({ filename: 'b.png', width: 30, height: 60, kind: 'image' })

    const list = await alice.GET('/photos', {
      params: {
        query: { albumId, hidden: false, sort: 'filename', order: 'desc', limit: 1 },
      },
    })
    expect(list.response.status).toBe(200)
    expect(list.data!.total).toBe(2)
    expect(list.data!.items.map((p) => p.filename)).toEqual(['b.png'])
    const next = await alice.GET('/photos', {
      params: {
        query: {
          albumId,
          sort: 'filename',
          order: 'desc',
          limit: 1,
          cursor: list.data!.nextCursor!,
        },
      },
    })
    expect(next.data!.items.map((p) => p.filename)).toEqual(['a.jpg'])

    const got = await alice.GET('/photos/{id}', {
      params: { path: { id: a!.id }, query: { countView: true } },
    })
    expect(got.data).toMatchObject({ id: a!.id, width: 640, height: 480, views: 1 })
    const many = await alice.GET('/photos/batch', { params: { query: { ids: [b!.id, a!.id] } } })
    expect(many.data!.map((p) => p.id)).toEqual([b!.id, a!.id])

    const updated = await alice.PATCH('/photos/{id}', {
      params: { path: { id: a!.id } },
      body: { description: 'Sunset', hidden: true },
    })
    expect(updated.response.status).toBe(200)
    expect(updated.data).toMatchObject({ description: 'Sunset', hidden: true })
    const visible = await alice.GET('/photos', { params: { query: { albumId, hidden: false } } })
    expect(visible.data!.items.map((p) => p.id)).toEqual([b!.id])

    const other = await alice.POST('/albums', { body: { title: 'Best of' } })
    const copy = await alice.POST('/photos/{id}/move', {
      params: { path: { id: b!.id } },
      body: { albumId: other.data!.id, copy: true },
    })
    expect(copy.response.status).toBe(201)
    expect(copy.data).toMatchObject({ albumId: other.data!.id, filename: 'b.png' })
    expect(copy.data!.id).not.toBe(b!.id)
    const moved = await alice.POST('/photos/{id}/move', {
      params: { path: { id: copy.data!.id } },
      body: { albumId: null },
    })
    expect(moved.response.status).toBe(200)
    expect(moved.data).toMatchObject({ id: copy.data!.id, albumId: null })

    const removed = await alice.DELETE('/photos/{id}', { params: { path: { id: a!.id } } })
    expect(removed.response.status).toBe(204)
    expect(removed.data).toBeUndefined()
    const trash = await alice.GET('/photos', { params: { query: { trashed: true } } })
    expect(trash.data!.items.map((p) => p.id)).toEqual([a!.id])
    const restored = await alice.POST('/photos/{id}/restore', { params: { path: { id: a!.id } } })
    expect(asPhoto(restored.data!).deletedAt).toBeNull()
    const hard = await alice.DELETE('/photos/{id}', {
      params: { path: { id: a!.id }, query: { hard: true } },
    })
    expect(hard.response.status).toBe(204)
    const gone = await alice.GET('/photos/{id}', { params: { path: { id: a!.id } } })
    expect(gone.response.status).toBe(404)
    expect(gone.error).toMatchObject({ error: { code: 'NOT_FOUND' } })

    const dropped = await alice.DELETE('/albums/{id}', {
      params: { path: { id: other.data!.id } },
    })
    expect(dropped.response.status).toBe(204)
    expect(dropped.data).toBeUndefined()
  })

  it('takes the seeds’ file fields; a batch of duplicates stores nothing: 200, all skipped', async () => {
    const alice = api(server.keys.alice)
    const bytes = await makeJpeg(320, 240)
    const first = await alice.POST('/photos', {
      ...multipart({}, [{ filename: 'seed.jpg', bytes }], 'image'),
    })
    expect(first.response.status).toBe(201)
    const again = await alice.POST('/photos', {
      ...multipart({}, [{ filename: 'seed.jpg', bytes }], 'photos'),
    })
    expect(again.response.status).toBe(200)
    expect(again.data).toMatchObject({
      uploaded: [],
      skipped: [{ reason: 'duplicate', existingId: first.data!.uploaded[0]!.id }],
    })
  })

  it('errors: 404 for another owner’s photo, 401 without a key, 403 without the scope', async () => {
    const bob = await api(server.keys.bob).POST('/photos', {
      ...multipart({}, [{ filename: 'bob.jpg', bytes: await makeJpeg(100, 100) }]),
    })
    const id = bob.data!.uploaded[0]!.id
    const alice = api(server.keys.alice)
    for (const answer of [
      await alice.GET('/photos/{id}', { params: { path: { id } } }),
      await alice.PATCH('/photos/{id}', { params: { path: { id } }, body: { description: 'x' } }),
      await alice.DELETE('/photos/{id}', { params: { path: { id } } }),
    ]) {
      expect(answer.response.status).toBe(404)
      expect(answer.error).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } })
    }

    const anonymous = await api().GET('/photos')
    expect(anonymous.response.status).toBe(401)
    expect(anonymous.error?.error.code).toBe('UNAUTHORIZED')
    const upload = await api().POST('/photos', {
      ...multipart({}, [{ filename: 'x.jpg', bytes: await makeJpeg(10, 10) }]),
    })
    expect(upload.response.status).toBe(401)
    const readOnly = await api(server.keys.aliceReadOnly).POST('/photos', {
      ...multipart({}, [{ filename: 'x.jpg', bytes: await makeJpeg(10, 10) }]),
    })
    expect(readOnly.response.status).toBe(403)
    expect(readOnly.error?.error.code).toBe('FORBIDDEN')
  })

  it('errors: 422 naming an unknown key or a bad value; 413 for a JSON body over 1 MiB', async () => {
    const auth = server.bearer(server.keys.alice)
    const unknown = await server.send('GET', `${REST_PREFIX}/photos?colour=red&limit=5`, {
      headers: auth,
    })
    expect(unknown.status).toBe(422)
    expect(unknown.json).toMatchObject({
      error: {
        code: 'VALIDATION',
        violations: [
          {
            property: 'colour',
            message: expect.stringMatching(/^Unknown key "colour"\. Allowed: albumId, .*limit/),
            reason: 'unrecognized_keys',
          },
        ],
      },
    })
    for (const [query, property] of [
      ['hidden=yes', 'hidden'],
      ['limit=0', 'limit'],
      ['limit=1e3', 'limit'],
      ['sort=colour', 'sort'],
    ] as const) {
      const bad = await server.send('GET', `${REST_PREFIX}/photos?${query}`, { headers: auth })
      expect(bad.status, query).toBe(422)
      const violations = (bad.json as { error: { violations: { property: string }[] } }).error
        .violations
      expect(violations.map((v) => v.property)).toEqual([property])
    }
    const badBody = await api(server.keys.alice).POST('/albums', {
      body: { title: 'Cap', photoCap: -1 },
    })
    expect(badBody.response.status).toBe(422)
    expect(badBody.error?.error.violations).toEqual([
      expect.objectContaining({ property: 'photoCap' }),
    ])

    const huge = await server.send('PATCH', `${REST_PREFIX}/albums/some-id`, {
      headers: auth,
      body: { description: 'x'.repeat(1024 * 1024 + 1) },
    })
    expect(huge.status).toBe(413)
    expect(huge.json).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } })
    // Refused unread, so the connection is not kept for another request.
    expect(huge.headers.get('connection')).toBe('close')
  })

  it('refuses input in the wrong place: a query on a body operation, a body on a query one, the path’s key in the body', async () => {
    const auth = server.bearer(server.keys.alice)
    const query = await server.send('POST', `${REST_PREFIX}/albums?title=x`, {
      headers: auth,
      body: { title: 'x' },
    })
    expect(query.status).toBe(422)
    expect(query.json).toMatchObject({ error: { violations: [{ property: 'title' }] } })
    const body = await server.send('DELETE', `${REST_PREFIX}/photos/p1`, {
      headers: auth,
      body: { hard: true },
    })
    expect(body.status).toBe(422)
    expect(body.json).toMatchObject({ error: { violations: [{ property: 'body' }] } })
    const id = await server.send('PATCH', `${REST_PREFIX}/photos/p1`, {
      headers: auth,
      body: { id: 'p2', description: 'x' },
    })
    expect(id.status).toBe(422)
    expect(id.json).toMatchObject({ error: { violations: [{ property: 'id' }] } })
    const notJson = await server.send('POST', `${REST_PREFIX}/albums`, {
      headers: auth,
      body: '{"title": ',
    })
    expect(notJson.status).toBe(400)
    expect(notJson.json).toMatchObject({ error: { code: 'BAD_REQUEST' } })
  })

  it('albums, keys, webhooks and upload states', async () => {
    const alice = api(server.keys.alice)
    const album = await alice.POST('/albums', { body: { title: 'Cap 1', photoCap: 1 } })
    expect(
      await alice.GET('/albums/{id}', { params: { path: { id: album.data!.id } } }),
    ).toMatchObject({ data: { title: 'Cap 1', photoCap: 1, photoCount: 0 } })
    const renamed = await alice.PATCH('/albums/{id}', {
      params: { path: { id: album.data!.id } },
      body: { title: 'Cap one' },
    })
    expect(renamed.data!.title).toBe('Cap one')
    const full = await alice.POST('/photos', {
      ...multipart({ albumId: album.data!.id }, [
        { filename: '1.jpg', bytes: await makeJpeg(20, 20) },
        { filename: '2.jpg', bytes: await makeJpeg(20, 20) },
      ]),
    })
    expect(full.response.status).toBe(400)
    expect(full.error?.error).toMatchObject({ code: 'CAP_EXCEEDED', cap: { name: 'photoCap' } })
    expect((await alice.GET('/albums')).data!.map((a) => a.id)).toContain(album.data!.id)

    const key = await alice.POST('/keys', { body: { name: 'ci', scopes: ['photos.read'] } })
    expect(key.response.status).toBe(201)
    expect(key.data!.key).toMatch(/^sk_/)
    const listed = await api(key.data!.key).GET('/photos')
    expect(listed.response.status).toBe(200)
    const revoked = await alice.POST('/keys/{id}/revoke', {
      params: { path: { id: key.data!.apiKey.id } },
    })
    expect(revoked.data!.revokedAt).toEqual(expect.any(String))
    expect((await api(key.data!.key).GET('/photos')).response.status).toBe(401)
    expect((await alice.GET('/keys')).data!.map((k) => k.name)).toContain('ci')

    const hook = await alice.POST('/webhooks', {
      body: { url: 'https://example.test/hook', events: ['photo.uploaded'] },
    })
    expect(hook.response.status).toBe(201)
    expect(hook.data!.secret).toEqual(expect.any(String))
    expect((await alice.GET('/webhooks')).data!.map((w) => w.id)).toEqual([hook.data!.webhook.id])
    const unhooked = await alice.DELETE('/webhooks/{id}', {
      params: { path: { id: hook.data!.webhook.id } },
    })
    expect(unhooked.response.status).toBe(204)

    const status = await alice.GET('/uploads/{id}', { params: { path: { id: 'no-such-upload' } } })
    expect(status.response.status).toBe(404)
  })

  it("owners: the caller's use and quota; setting a quota needs admin", async () => {
    const alice = api(server.keys.alice)
    await alice.POST('/photos', {
      ...multipart({}, [{ filename: 'q.jpg', bytes: await makeJpeg(30, 30) }]),
    })
    const me = await alice.GET('/owners/me')
    expect(me.response.status).toBe(200)
    expect(me.data).toMatchObject({ ownerId: 'alice', profilePhotoId: null })
    expect(me.data!.usedBytes).toBeGreaterThan(0)
    const refused = await alice.PUT('/owners/{ownerId}/quota', {
      params: { path: { ownerId: 'alice' } },
      body: { quotaBytes: 1 },
    })
    expect(refused.response.status).toBe(403)
    const unknown = await alice.GET('/owners/me', { params: { query: { colour: 'red' } as never } })
    expect(unknown.response.status).toBe(422)
  })

  it('serves the OpenAPI document and a JSON 404 or 405 for the rest of /api', async () => {
    const served = await server.send('GET', '/api/openapi.json')
    expect(served.status).toBe(200)
    expect(served.json).toEqual(await defaultOpenApiDocument())
    const missing = await server.send('GET', '/api/nothing/here')
    expect(missing.status).toBe(404)
    expect(missing.json).toEqual({ error: { code: 'NOT_FOUND', message: 'Not found.' } })
    const method = await server.send('PUT', `${REST_PREFIX}/photos`)
    expect(method.status).toBe(405)
    expect(method.headers.get('allow')).toBe('GET, HEAD, POST')
    expect(method.json).toMatchObject({ error: { code: 'METHOD_NOT_ALLOWED' } })
  })
})

describe('REST twin uploads over the size limit', () => {
  let server: ProfileServer
  beforeAll(async () => {
    server = await startProfileServer({
      profiles: [],
      config: { limits: { maxFileBytes: 1024 } },
    })
  })
  afterAll(() => server?.close())

  it('skips a file cut short while spooling as too_large, and never ingests it', async () => {
    const api = createClient<paths>({
      baseUrl: `${server.origin}${REST_PREFIX}`,
      headers: server.bearer(server.keys.alice),
    })
    const big = await makeJpeg(800, 600)
    expect(big.byteLength).toBeGreaterThan(1024)
    const small = await makePng(8, 8)
    const mixed = await api.POST('/photos', {
      ...multipart({}, [
        { filename: 'small.png', bytes: small },
        { filename: 'big.jpg', bytes: big },
      ]),
    })
    expect(mixed.response.status).toBe(201)
    expect(photosOf(mixed.data!).map((p) => p.filename)).toEqual(['small.png'])
    expect(mixed.data!.skipped).toEqual([
      {
        index: 1,
        filename: 'big.jpg',
        reason: 'too_large',
        message: expect.stringMatching(
          /^The file is too large \(.+ KB\)\. Allowed maximum size is 1 KB\.$/,
        ),
      },
    ])
    const alone = await api.POST('/photos', {
      ...multipart({}, [{ filename: 'big.jpg', bytes: big }]),
    })
    expect(alone.response.status).toBe(413)
    expect(alone.error?.error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      violations: [{ property: 'file', reason: 'too_large' }],
    })
    const listed = await api.GET('/photos')
    expect(listed.data!.items.map((p) => p.filename)).toEqual(['small.png'])
  })
})

describe('REST twin uploads follow the router’s admission rules', () => {
  it('guest uploads when on, and one rate limit shared with tRPC’s photos.upload', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'darkroom-rest-'))
    const { darkroom } = await makeTestDarkroom()
    const serverStore = new MemoryServerStore()
    const handler = createDarkroomHandler({
      darkroom,
      serverStore,
      signingSecret: randomBytes(32).toString('hex'),
      dataDir: dir,
      guestUploads: true,
      uploads: { perMinute: 1 },
    })
    const { key } = await createApiKey(serverStore, {
      ownerId: 'alice',
      name: 'limits',
      scopes: ['photos.read', 'photos.write'],
    })
    const form = async () => {
      const body = new FormData()
      body.append('files', new File([new Uint8Array(await makeJpeg(32, 32))], 'g.jpg'))
      return body
    }
    const post = async (path: string, ip: string, headers: Record<string, string> = {}) =>
      handler.fetch(
        new Request(`http://localhost${path}`, { method: 'POST', body: await form(), headers }),
        { ip },
      )
    try {
      const guest = await post(`${REST_PREFIX}/photos`, '10.0.0.1')
      expect(guest.status).toBe(201)
      // The guest may write, not read: a receipt without photo data.
      const answer = (await guest.json()) as { uploaded: Record<string, unknown>[] }
      expect(answer.uploaded).toEqual([expect.objectContaining({ withheld: true, index: 0 })])
      expect(answer.uploaded[0]).not.toHaveProperty('filename')
      const again = await post(`${REST_PREFIX}/photos`, '10.0.0.1')
      expect(again.status).toBe(429)
      expect(again.headers.get('retry-after')).toMatch(/^\d+$/)
      expect(await again.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } })
      expect((await post(`${REST_PREFIX}/photos`, '10.0.0.2')).status).toBe(201)
      // Guests may only upload.
      const list = await handler.fetch(new Request(`http://localhost${REST_PREFIX}/photos`))
      expect(list.status).toBe(401)

      const auth = { authorization: `Bearer ${key}` }
      expect((await post(`${REST_PREFIX}/photos`, '10.0.0.3', auth)).status).toBe(201)
      // Alice's bucket is spent: tRPC's photos.upload refuses her too.
      expect((await post('/trpc/photos.upload', '10.0.0.3', auth)).status).toBe(429)
    } finally {
      await handler.close()
      await darkroom.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
