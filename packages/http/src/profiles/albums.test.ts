import sharp from 'sharp'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  ALICE,
  BOB,
  form,
  makeJpeg,
  makePng,
  startProfileServer,
  type ProfileServer,
} from './testing/harness.js'

/**
 * Seed 004 (a personal albums app) replayed over raw HTTP: every request its document shows,
 * exactly as its curl sends it (the session cookie standing for the app's sign-in), checked
 * against what the document says comes back; then what keeps it honest: another user's photo or
 * album is 404, no session is 401, unknown keys are refused, failures say nothing of their cause.
 */

const MAX_FILE_BYTES = 1024 * 1024
const ALICE_SESSION = { cookie: 'session=alice' }
const BOB_SESSION = { cookie: 'session=bob' }
const JSON_TYPE = { 'content-type': 'application/json' }
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const PHOTO_KEYS = [
  'id',
  'user_id',
  'album_id',
  'blob_url',
  'file_name',
  'file_size',
  'file_type',
  'width',
  'height',
  'created_at',
]

let server: ProfileServer
beforeAll(async () => {
  server = await startProfileServer({
    profiles: ['albums'],
    config: { limits: { maxFileBytes: MAX_FILE_BYTES } },
  })
})
afterAll(() => server?.close())
afterEach(() => vi.restoreAllMocks())

interface SeedPhoto {
  id: string
  user_id: string
  album_id: string | null
  blob_url: string
  file_name: string
  file_size: number
  file_type: string
  width: number | null
  height: number | null
  created_at: string
}

/** `curl -X POST .../api/photos/upload -H "Cookie: ..." -F "file=@<name>" [-F "album_id=..."]` */
function upload(
  entries: Parameters<typeof form>[0],
  headers: Record<string, string> = ALICE_SESSION,
) {
  return server.send('POST', '/api/photos/upload', { headers, body: form(entries) })
}

/** A new JPEG uploaded by alice (or `headers`' user), answered as the API's photo object. */
async function uploaded(
  options: { albumId?: string; name?: string; headers?: Record<string, string> } = {},
): Promise<SeedPhoto> {
  const entries: Parameters<typeof form>[0] = [
    ['file', { filename: options.name ?? 'photo.jpg', data: await makeJpeg(640, 480) }],
  ]
  if (options.albumId) entries.push(['album_id', options.albumId])
  const got = await upload(entries, options.headers)
  expect(got.status).toBe(200)
  return got.json as SeedPhoto
}

/** `curl -X <method> <path> -H "Cookie: ..." -H "Content-Type: application/json" -d '<body>'` */
function sendJson(
  method: 'DELETE' | 'PATCH',
  path: string,
  body: string,
  headers: Record<string, string> = ALICE_SESSION,
) {
  return server.send(method, path, { headers: { ...headers, ...JSON_TYPE }, body })
}

function expectSeedPhoto(value: unknown): asserts value is SeedPhoto {
  expect(Object.keys(value as object)).toEqual(PHOTO_KEYS)
  const photo = value as SeedPhoto
  expect(photo.id).toMatch(UUID)
  expect(typeof photo.user_id).toBe('string')
  expect(photo.album_id === null || typeof photo.album_id === 'string').toBe(true)
  expect(photo.blob_url).toBe(`${server.origin}/photos/${photo.id}/original.${ext(photo)}`)
  expect(typeof photo.file_name).toBe('string')
  expect(Number.isInteger(photo.file_size)).toBe(true)
  expect(photo.file_type).toMatch(/^image\//)
  expect(photo.width === null || Number.isInteger(photo.width)).toBe(true)
  expect(photo.height === null || Number.isInteger(photo.height)).toBe(true)
  expect(new Date(photo.created_at).toISOString()).toBe(photo.created_at)
}

function ext(photo: SeedPhoto): string {
  return photo.file_type === 'image/png' ? 'png' : 'jpg'
}

async function albumOf(owner: typeof ALICE, photoCap: number | null = null) {
  return server.darkroom.albums.create(owner, { title: 'Vacaciones', photoCap })
}

async function listed(headers: Record<string, string> = ALICE_SESSION): Promise<SeedPhoto[]> {
  const got = await server.send('GET', '/api/photos', { headers })
  expect(got.status).toBe(200)
  return got.json as SeedPhoto[]
}

describe('GET /api/photos', () => {
  it('replays the documented request: all the caller’s photos, newest first', async () => {
    const carol = { cookie: 'session=carol' }
    const album = await albumOf({ ownerId: 'carol', scopes: ALICE.scopes })
    const first = await uploaded({ headers: carol, name: 'a.jpg' })
    const second = await uploaded({ headers: carol, name: 'b.jpg', albumId: album.id })
    const third = await uploaded({ headers: carol, name: 'c.jpg' })
    await uploaded({ headers: BOB_SESSION })

    const got = await server.send('GET', '/api/photos', { headers: carol })
    expect(got.status).toBe(200)
    expect(got.headers.get('content-type')).toContain('application/json')
    const photos = got.json as SeedPhoto[]
    expect(Array.isArray(photos)).toBe(true)
    photos.forEach((photo) => expectSeedPhoto(photo))
    expect(photos.map((p) => p.id)).toEqual([third.id, second.id, first.id])
    expect(photos.map((p) => p.file_name)).toEqual(['c.jpg', 'b.jpg', 'a.jpg'])
    expect(photos.map((p) => p.album_id)).toEqual([null, album.id, null])
    expect(photos.every((p) => p.user_id === 'carol')).toBe(true)
    expect(photos[1]).toEqual(second)
    expect(got.headers.get('x-total-count')).toBe('3')
  })

  it('pages with limit and offset, newest first', async () => {
    const dave = { cookie: 'session=dave' }
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.unshift((await uploaded({ headers: dave })).id)
    const page = await server.send('GET', '/api/photos?limit=2&offset=1', { headers: dave })
    expect(page.status).toBe(200)
    expect((page.json as SeedPhoto[]).map((p) => p.id)).toEqual(ids.slice(1, 3))
    expect(page.headers.get('x-total-count')).toBe('3')
    const past = await server.send('GET', '/api/photos?offset=3', { headers: dave })
    expect(past.json).toEqual([])
  })

  it('answers an empty array to a user without photos', async () => {
    expect(await listed({ cookie: 'session=nobody' })).toEqual([])
  })

  it('is 401 "No autorizado" without a session', async () => {
    const got = await server.send('GET', '/api/photos')
    expect(got.status).toBe(401)
    expect(got.json).toEqual({ error: 'No autorizado' })
  })

  it('refuses unknown query parameters and bad paging, naming them', async () => {
    const unknown = await server.send('GET', '/api/photos?page=2&sort=asc', {
      headers: ALICE_SESSION,
    })
    expect(unknown.status).toBe(400)
    expect(unknown.json).toEqual({ error: 'Parametros no permitidos: page, sort' })
    const zero = await server.send('GET', '/api/photos?limit=0', { headers: ALICE_SESSION })
    expect(zero.status).toBe(400)
    expect(zero.json).toEqual({ error: 'limit no valido (entero de 1 a 1000)' })
    const negative = await server.send('GET', '/api/photos?offset=-1', { headers: ALICE_SESSION })
    expect(negative.json).toEqual({ error: 'offset no valido (entero desde 0)' })
  })

  it('is 500 "Error al obtener fotos" when the store fails, with nothing of the cause', async () => {
    vi.spyOn(server.darkroom.photos, 'list').mockRejectedValueOnce(
      new Error('SQLITE_IOERR: disk I/O error at /var/lib/darkroom.db'),
    )
    const got = await server.send('GET', '/api/photos', { headers: ALICE_SESSION })
    expect(got.status).toBe(500)
    expect(got.json).toEqual({ error: 'Error al obtener fotos' })
  })
})

describe('POST /api/photos/upload', () => {
  it('replays the documented request: the file into the album, the created photo back', async () => {
    const album = await albumOf(ALICE)
    const bytes = await makeJpeg(1920, 1080)
    const before = Date.now()
    const got = await upload([
      ['file', { filename: 'photo.jpg', data: bytes, type: 'image/jpeg' }],
      ['album_id', album.id],
    ])
    expect(got.status).toBe(200)
    expectSeedPhoto(got.json)
    const photo = got.json
    expect(photo).toMatchObject({
      user_id: 'alice',
      album_id: album.id,
      file_name: 'photo.jpg',
      file_size: bytes.length,
      file_type: 'image/jpeg',
      // The document shows null here; Darkroom has read the real size at ingest.
      width: 1920,
      height: 1080,
    })
    const created = Date.parse(photo.created_at)
    expect(created).toBeGreaterThanOrEqual(before - 1000)
    expect(created).toBeLessThanOrEqual(Date.now())
    expect((await listed())[0]).toEqual(photo)
  })

  it('serves the original byte for byte at blob_url, to its owner only', async () => {
    const bytes = await makeJpeg(320, 240)
    const got = await upload([['file', { filename: 'photo.jpg', data: bytes }]])
    const photo = got.json as SeedPhoto
    const original = await fetch(photo.blob_url, { headers: ALICE_SESSION })
    expect(original.status).toBe(200)
    expect(Buffer.from(await original.arrayBuffer()).equals(bytes)).toBe(true)
    expect((await fetch(photo.blob_url, { headers: BOB_SESSION })).status).toBe(404)
    expect((await fetch(photo.blob_url)).status).toBe(404)
  })

  it('leaves the photo outside any album without album_id, and takes PNG', async () => {
    const png = await makePng(64, 48)
    const got = await upload([['file', { filename: 'screen.png', data: png }]])
    expect(got.status).toBe(200)
    expectSeedPhoto(got.json)
    expect(got.json).toMatchObject({
      album_id: null,
      file_type: 'image/png',
      width: 64,
      height: 48,
    })
    const empty = await upload([
      ['file', { filename: 'x.jpg', data: await makeJpeg(32, 32) }],
      ['album_id', ''],
    ])
    expect(empty.json).toMatchObject({ album_id: null })
  })

  it('answers the displayed size of a rotated photo (EXIF orientation applied)', async () => {
    const rotated = await sharp(await makeJpeg(1600, 1200))
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer()
    const got = await upload([['file', { filename: 'portrait.jpg', data: rotated }]])
    expect(got.json).toMatchObject({ width: 1200, height: 1600 })
  })

  it('is 400 "No se proporciono archivo" without a file', async () => {
    const album = await albumOf(ALICE)
    for (const body of [
      form([['album_id', album.id]]),
      form([['file', 'not-a-file']]),
      form([['file', { filename: '', data: new Uint8Array(0) }]]),
    ]) {
      const got = await server.send('POST', '/api/photos/upload', { headers: ALICE_SESSION, body })
      expect(got.status).toBe(400)
      expect(got.json).toEqual({ error: 'No se proporciono archivo' })
    }
    const bare = await server.send('POST', '/api/photos/upload', { headers: ALICE_SESSION })
    expect(bare.status).toBe(400)
    expect(bare.json).toEqual({ error: 'No se proporciono archivo' })
  })

  it('is 401 "No autorizado" without a session, and 403 for a read-only API key', async () => {
    const data = await makeJpeg(64, 64)
    const anonymous = await upload([['file', { filename: 'a.jpg', data }]], {})
    expect(anonymous.status).toBe(401)
    expect(anonymous.json).toEqual({ error: 'No autorizado' })
    const readOnly = await upload(
      [['file', { filename: 'a.jpg', data }]],
      server.bearer(server.keys.aliceReadOnly),
    )
    expect(readOnly.status).toBe(403)
    expect(readOnly.json).toEqual({ error: 'Permiso insuficiente' })
  })

  it('is 404 "Album no encontrado" for an album that is not the caller’s', async () => {
    const bobs = await albumOf(BOB)
    for (const albumId of [bobs.id, '019a0000-0000-7000-8000-000000000000']) {
      const got = await upload([
        ['file', { filename: 'a.jpg', data: await makeJpeg(64, 64) }],
        ['album_id', albumId],
      ])
      expect(got.status).toBe(404)
      expect(got.json).toEqual({ error: 'Album no encontrado' })
    }
    expect(await server.darkroom.albums.get(BOB, { id: bobs.id })).toMatchObject({ photoCount: 0 })
  })

  it('refuses unknown fields, a file in another field and a second file, naming them', async () => {
    const data = await makeJpeg(64, 64)
    const extra = await upload([
      ['file', { filename: 'a.jpg', data }],
      ['title', 'Playa'],
    ])
    expect(extra.status).toBe(400)
    expect(extra.json).toEqual({ error: 'Campo no permitido: title' })
    const elsewhere = await upload([['photo', { filename: 'a.jpg', data }]])
    expect(elsewhere.status).toBe(400)
    expect(elsewhere.json).toEqual({ error: 'Campo no permitido: photo' })
    const two = await upload([
      ['file', { filename: 'a.jpg', data }],
      ['file', { filename: 'b.jpg', data: await makeJpeg(64, 64) }],
    ])
    expect(two.status).toBe(400)
    expect(two.json).toEqual({ error: 'Solo se admite un archivo' })
    const query = await server.send('POST', '/api/photos/upload?album=1', {
      headers: ALICE_SESSION,
      body: form([['file', { filename: 'a.jpg', data }]]),
    })
    expect(query.json).toEqual({ error: 'Parametro no permitido: album' })
  })

  it('refuses a file that is not an image (422), too large (413) or damaged (422)', async () => {
    const text = await upload([
      ['file', { filename: 'notes.jpg', data: new TextEncoder().encode('hola, no soy una foto') }],
    ])
    expect(text.status).toBe(422)
    expect(text.json).toEqual({
      error: expect.stringMatching(/^Tipo de archivo no permitido \(se admiten image\/jpeg, /),
    })
    const big = await upload([
      ['file', { filename: 'big.jpg', data: new Uint8Array(MAX_FILE_BYTES + 1).fill(1) }],
    ])
    expect(big.status).toBe(413)
    expect(big.json).toEqual({ error: 'Archivo demasiado grande (maximo 1 MB)' })
    const jpeg = await makeJpeg(800, 600)
    const cut = await upload([['file', { filename: 'cut.jpg', data: jpeg.subarray(0, 400) }]])
    expect(cut.status).toBe(422)
    expect(cut.json).toEqual({ error: 'Archivo danado o vacio' })
  })

  it('is 409 "La foto ya existe" when the same file is already in that album', async () => {
    const album = await albumOf(ALICE)
    const entries: Parameters<typeof form>[0] = [
      ['file', { filename: 'a.jpg', data: await makeJpeg(64, 64) }],
      ['album_id', album.id],
    ]
    expect((await upload(entries)).status).toBe(200)
    const again = await upload(entries)
    expect(again.status).toBe(409)
    expect(again.json).toEqual({ error: 'La foto ya existe' })
  })

  it('is 400 naming the cap when the album is full', async () => {
    const album = await albumOf(ALICE, 1)
    await uploaded({ albumId: album.id })
    const full = await upload([
      ['file', { filename: 'b.jpg', data: await makeJpeg(64, 64) }],
      ['album_id', album.id],
    ])
    expect(full.status).toBe(400)
    expect(full.json).toEqual({ error: 'El album esta lleno (maximo 1 fotos)' })
  })

  it('is 400 naming the quota when the caller’s storage is full', async () => {
    const admin = { ownerId: 'root', scopes: ['admin'] }
    await server.darkroom.owners.setQuota(admin, { ownerId: 'erin', quotaBytes: 100 })
    const got = await upload([['file', { filename: 'a.jpg', data: await makeJpeg(64, 64) }]], {
      cookie: 'session=erin',
    })
    expect(got.status).toBe(400)
    expect(got.json).toEqual({ error: 'Espacio de almacenamiento agotado (maximo 100 bytes)' })
  })

  it('is 500 "Error al subir" when storing fails, with nothing of the cause', async () => {
    vi.spyOn(server.darkroom.photos, 'upload').mockRejectedValueOnce(
      new Error('EACCES: permission denied, open /srv/blobs/x'),
    )
    const got = await upload([['file', { filename: 'a.jpg', data: await makeJpeg(64, 64) }]])
    expect(got.status).toBe(500)
    expect(got.json).toEqual({ error: 'Error al subir' })
  })
})

describe('DELETE /api/photos/delete', () => {
  it('replays the documented request: true, and the photo and its bytes are gone', async () => {
    const photo = await uploaded()
    const got = await sendJson('DELETE', '/api/photos/delete', `{"id": "${photo.id}"}`)
    expect(got.status).toBe(200)
    expect(got.json).toBe(true)
    expect(got.text).toBe('true')
    expect((await listed()).map((p) => p.id)).not.toContain(photo.id)
    // Hard, as the document says: not in the trash either, and the original is gone.
    const trash = await server.darkroom.photos.list(ALICE, { trashed: true })
    expect(trash.items.map((p) => p.id)).not.toContain(photo.id)
    expect((await fetch(photo.blob_url, { headers: ALICE_SESSION })).status).toBe(404)
  })

  it('reads the JSON whatever its Content-Type (curl -d without -H)', async () => {
    const photo = await uploaded()
    const got = await server.send('DELETE', '/api/photos/delete', {
      headers: { ...ALICE_SESSION, 'content-type': 'application/x-www-form-urlencoded' },
      body: `{"id": "${photo.id}"}`,
    })
    expect(got.status).toBe(200)
    expect(got.json).toBe(true)
  })

  it('is 404 "Foto no encontrada" for a missing photo or another user’s, which stays', async () => {
    const bobs = await uploaded({ headers: BOB_SESSION })
    for (const id of [bobs.id, '019a0000-0000-7000-8000-000000000000', 'nope']) {
      const got = await sendJson('DELETE', '/api/photos/delete', JSON.stringify({ id }))
      expect(got.status).toBe(404)
      expect(got.json).toEqual({ error: 'Foto no encontrada' })
    }
    expect((await listed(BOB_SESSION)).map((p) => p.id)).toContain(bobs.id)
  })

  it('is 400 "No se proporciono ID" without an id', async () => {
    for (const body of ['{}', '{"id": ""}', '{"id": null}', '', '[]']) {
      const got = await sendJson('DELETE', '/api/photos/delete', body)
      expect(got.status).toBe(400)
      expect(got.json).toEqual({ error: 'No se proporciono ID' })
    }
    const wrongType = await sendJson('DELETE', '/api/photos/delete', '{"id": 42}')
    expect(wrongType.json).toEqual({ error: 'ID no valido' })
    const broken = await sendJson('DELETE', '/api/photos/delete', '{"id": ')
    expect(broken.status).toBe(400)
    expect(broken.json).toEqual({ error: 'JSON no valido' })
  })

  it('is 401 "No autorizado" without a session', async () => {
    const photo = await uploaded()
    const got = await sendJson('DELETE', '/api/photos/delete', JSON.stringify({ id: photo.id }), {})
    expect(got.status).toBe(401)
    expect(got.json).toEqual({ error: 'No autorizado' })
  })

  it('refuses unknown keys, naming them, and deletes nothing', async () => {
    const photo = await uploaded()
    const body = JSON.stringify({ id: photo.id, hard: false, soft: true })
    const got = await sendJson('DELETE', '/api/photos/delete', body)
    expect(got.status).toBe(400)
    expect(got.json).toEqual({ error: 'Campos no permitidos: hard, soft' })
    expect((await listed()).map((p) => p.id)).toContain(photo.id)
  })

  it('is 500 "Error al eliminar" when the store fails, with nothing of the cause', async () => {
    const photo = await uploaded()
    vi.spyOn(server.darkroom.photos, 'delete').mockRejectedValueOnce(new Error('SQLITE_BUSY'))
    const got = await sendJson('DELETE', '/api/photos/delete', JSON.stringify({ id: photo.id }))
    expect(got.status).toBe(500)
    expect(got.json).toEqual({ error: 'Error al eliminar' })
  })
})

describe('PATCH /api/photos/move', () => {
  it('replays the documented requests: into an album, then out of it with null', async () => {
    const photo = await uploaded()
    const album = await albumOf(ALICE)
    const into = await sendJson(
      'PATCH',
      '/api/photos/move',
      `{"id": "${photo.id}", "album_id": "${album.id}"}`,
    )
    expect(into.status).toBe(200)
    expectSeedPhoto(into.json)
    expect(into.json).toEqual({ ...photo, album_id: album.id })
    const out = await sendJson(
      'PATCH',
      '/api/photos/move',
      `{"id": "${photo.id}", "album_id": null}`,
    )
    expect(out.status).toBe(200)
    expect(out.json).toEqual({ ...photo, album_id: null })
  })

  it('takes the photo out of any album when album_id is omitted', async () => {
    const album = await albumOf(ALICE)
    const photo = await uploaded({ albumId: album.id })
    const got = await sendJson('PATCH', '/api/photos/move', JSON.stringify({ id: photo.id }))
    expect(got.status).toBe(200)
    expect(got.json).toEqual({ ...photo, album_id: null })
  })

  it('is 404 for another user’s photo or album, and moves nothing', async () => {
    const mine = await uploaded()
    const bobs = await uploaded({ headers: BOB_SESSION })
    const myAlbum = await albumOf(ALICE)
    const bobsAlbum = await albumOf(BOB)
    const photo = await sendJson(
      'PATCH',
      '/api/photos/move',
      JSON.stringify({ id: bobs.id, album_id: myAlbum.id }),
    )
    expect(photo.status).toBe(404)
    expect(photo.json).toEqual({ error: 'Foto no encontrada' })
    const album = await sendJson(
      'PATCH',
      '/api/photos/move',
      JSON.stringify({ id: mine.id, album_id: bobsAlbum.id }),
    )
    expect(album.status).toBe(404)
    expect(album.json).toEqual({ error: 'Album no encontrado' })
    expect((await listed()).find((p) => p.id === mine.id)?.album_id).toBeNull()
  })

  it('is 400 "No se proporciono ID" without an id, and names unknown keys', async () => {
    const album = await albumOf(ALICE)
    const noId = await sendJson('PATCH', '/api/photos/move', `{"album_id": "${album.id}"}`)
    expect(noId.status).toBe(400)
    expect(noId.json).toEqual({ error: 'No se proporciono ID' })
    const photo = await uploaded()
    const unknown = await sendJson(
      'PATCH',
      '/api/photos/move',
      JSON.stringify({ id: photo.id, albumId: album.id }),
    )
    expect(unknown.status).toBe(400)
    expect(unknown.json).toEqual({ error: 'Campo no permitido: albumId' })
    const badAlbum = await sendJson(
      'PATCH',
      '/api/photos/move',
      JSON.stringify({ id: photo.id, album_id: 7 }),
    )
    expect(badAlbum.json).toEqual({ error: 'album_id no valido (ID de album o null)' })
  })

  it('is 401 "No autorizado" without a session', async () => {
    const got = await sendJson('PATCH', '/api/photos/move', '{"id": "x", "album_id": null}', {})
    expect(got.status).toBe(401)
    expect(got.json).toEqual({ error: 'No autorizado' })
  })

  it('is 400 when the album is full', async () => {
    const album = await albumOf(ALICE, 1)
    await uploaded({ albumId: album.id })
    const photo = await uploaded()
    const got = await sendJson(
      'PATCH',
      '/api/photos/move',
      JSON.stringify({ id: photo.id, album_id: album.id }),
    )
    expect(got.status).toBe(400)
    expect(got.json).toEqual({ error: 'El album esta lleno (maximo 1 fotos)' })
  })

  it('is 500 "Error al mover foto" when the store fails, with nothing of the cause', async () => {
    const photo = await uploaded()
    vi.spyOn(server.darkroom.photos, 'move').mockRejectedValueOnce(new Error('deadlock'))
    const got = await sendJson('PATCH', '/api/photos/move', JSON.stringify({ id: photo.id }))
    expect(got.status).toBe(500)
    expect(got.json).toEqual({ error: 'Error al mover foto' })
  })
})

describe('PATCH /api/photos/dimensions', () => {
  it('replays the documented request: the photo with its new width and height', async () => {
    const photo = await uploaded()
    expect(photo).toMatchObject({ width: 640, height: 480 })
    const got = await sendJson(
      'PATCH',
      '/api/photos/dimensions',
      `{"id": "${photo.id}", "width": 1920, "height": 1080}`,
    )
    expect(got.status).toBe(200)
    expectSeedPhoto(got.json)
    expect(got.json).toEqual({ ...photo, width: 1920, height: 1080 })
    expect((await listed()).find((p) => p.id === photo.id)).toEqual(got.json)
  })

  it('is 404 "Foto no encontrada" for another user’s photo, which keeps its size', async () => {
    const bobs = await uploaded({ headers: BOB_SESSION })
    const got = await sendJson(
      'PATCH',
      '/api/photos/dimensions',
      JSON.stringify({ id: bobs.id, width: 1, height: 1 }),
    )
    expect(got.status).toBe(404)
    expect(got.json).toEqual({ error: 'Foto no encontrada' })
    expect((await listed(BOB_SESSION)).find((p) => p.id === bobs.id)).toEqual(bobs)
  })

  it('is 400 "No se proporciono ID" without an id, and names what else is wrong', async () => {
    const photo = await uploaded()
    const cases: [unknown, string][] = [
      [{ width: 1920, height: 1080 }, 'No se proporciono ID'],
      [{ id: photo.id, height: 1080 }, 'No se proporciono width'],
      [{ id: photo.id, width: 1920 }, 'No se proporciono height'],
      [{ id: photo.id, width: 0, height: 1080 }, 'width no valido (entero de 1 a 1000000)'],
      [{ id: photo.id, width: 1920.5, height: 1080 }, 'width no valido (entero de 1 a 1000000)'],
      [{ id: photo.id, width: 1920, height: '1080' }, 'height no valido (entero de 1 a 1000000)'],
      [{ id: photo.id, width: 1920, height: 1080, ratio: 1.7 }, 'Campo no permitido: ratio'],
    ]
    for (const [body, error] of cases) {
      const got = await sendJson('PATCH', '/api/photos/dimensions', JSON.stringify(body))
      expect(got.status).toBe(400)
      expect(got.json).toEqual({ error })
    }
    expect((await listed()).find((p) => p.id === photo.id)).toEqual(photo)
  })

  it('is 401 "No autorizado" without a session', async () => {
    const body = '{"id": "x", "width": 1920, "height": 1080}'
    const got = await sendJson('PATCH', '/api/photos/dimensions', body, {})
    expect(got.status).toBe(401)
    expect(got.json).toEqual({ error: 'No autorizado' })
  })

  it('is 500 "Error al actualizar dimensiones" when the store fails', async () => {
    const photo = await uploaded()
    vi.spyOn(server.darkroom.photos, 'update').mockRejectedValueOnce(new Error('disk full'))
    const body = JSON.stringify({ id: photo.id, width: 10, height: 10 })
    const got = await sendJson('PATCH', '/api/photos/dimensions', body)
    expect(got.status).toBe(500)
    expect(got.json).toEqual({ error: 'Error al actualizar dimensiones' })
  })
})

describe('the albums profile', () => {
  it('answers another method on a known path with 405, Allow and its own error shape', async () => {
    const got = await server.send('GET', '/api/photos/delete', { headers: ALICE_SESSION })
    expect(got.status).toBe(405)
    expect(got.headers.get('allow')).toBe('DELETE')
    expect(got.json).toEqual({ error: 'Metodo no permitido' })
  })

  it('serves the same API under a base path, with blob_url still absolute', async () => {
    const mounted = await startProfileServer({
      profiles: [{ profile: 'albums', basePath: '/app' }],
    })
    try {
      const got = await mounted.send('POST', '/app/api/photos/upload', {
        headers: ALICE_SESSION,
        body: form([['file', { filename: 'a.jpg', data: await makeJpeg(64, 64) }]]),
      })
      expect(got.status).toBe(200)
      const photo = got.json as SeedPhoto
      expect(photo.blob_url).toBe(`${mounted.origin}/photos/${photo.id}/original.jpg`)
      expect((await fetch(photo.blob_url, { headers: ALICE_SESSION })).status).toBe(200)
      const list = await mounted.send('GET', '/app/api/photos', { headers: ALICE_SESSION })
      expect((list.json as SeedPhoto[]).map((p) => p.id)).toEqual([photo.id])
      expect((await mounted.send('GET', '/api/photos', { headers: ALICE_SESSION })).status).toBe(
        404,
      )
    } finally {
      await mounted.close()
    }
  })
})
