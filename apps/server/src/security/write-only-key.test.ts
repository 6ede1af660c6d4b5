import type { Caller } from '@darkroom/core'
import { makeJpeg } from '@darkroom/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, uploadForm, type TestServer } from '../testing/harness.js'

/**
 * A key with `photos.write` but not `photos.read` must not read photo data. Webhook deliveries
 * carry whole photos (EXIF, GPS, caption, filename), so subscribing needs `photos.read` too:
 * a write-only key's `webhooks.create` is 403 naming the scope, and no subscription is made.
 *
 * And every route a write-only key may call answers it no photo data: each one below (tRPC, the
 * REST twin, tus, every seed profile) is called on alice's photo (an EXIF+GPS JPEG with a
 * filename and description of hers), and its whole answer (body and headers, tus metadata
 * decoded) must hold none of them. Uploads send a new EXIF+GPS JPEG, a duplicate of her photo,
 * or her photo's bytes while it is in the trash (which restores it).
 */

let server: TestServer
let writeOnly: string
let owner: string
const ALICE: Caller = { ownerId: 'alice', scopes: ['photos.read', 'photos.write'] }
const SECRET = {
  filename: 'secret-mill-meeting.jpg',
  description: 'Meet at the old mill at dawn',
  make: 'SecretCam',
  model: 'Spy-9',
  gps: { lat: 48.858233, lon: 2.294481 },
}
/** What no answer to the write-only key may contain. */
const LEAKS = [
  SECRET.filename,
  Buffer.from(SECRET.filename).toString('base64'),
  SECRET.description,
  SECRET.make,
  SECRET.model,
  '48.858',
  '2.2944',
]
let seed = 7000

beforeAll(async () => {
  server = await startServer({
    env: {
      RATE_LIMIT_UPLOADS_PER_MINUTE: '0',
      PROFILES: 'albums@/albums,imagehost@/ih,events@/events,social@/social,groups@/groups',
    },
  })
  writeOnly = await server.key('alice', ['photos.write'])
  owner = await server.key('alice')
  await server
    .client(owner)
    .photos.upload.mutate(
      uploadForm([{ name: 'gps.jpg', data: await makeJpeg({ width: 32, height: 24, seed: 41 }) }]),
    )
})
afterAll(() => server?.close())

it('a write-only key cannot subscribe a webhook, which would deliver photo data', async () => {
  const res = await fetch(`${server.url}/trpc/webhooks.create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${writeOnly}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: 'https://hooks.example.com/steal' }),
  })
  expect(res.status).toBe(403)
  const body = JSON.stringify(await res.json())
  expect(body).toMatch(/needs the \\"photos.read\\" scope/)
  expect(body).not.toMatch(/gps\.jpg|exif/i)
  expect(await server.client(owner).webhooks.list.query()).toEqual([])
  // A key with both scopes still subscribes.
  await server.client(owner).webhooks.create.mutate({ url: 'https://hooks.example.com/mine' })
})

/** An EXIF+GPS JPEG with alice's secrets in it. */
function secretJpeg(): Promise<Buffer> {
  return makeJpeg({ width: 48, height: 32, seed: ++seed, ...SECRET })
}

interface Fixture {
  photoId: string
  /** Her photo's bytes. */
  bytes: Buffer
  /** Another photo of hers in the same album (a reorder's anchor). */
  otherId: string
  albumId: string
  album2Id: string
}

/** A fresh photo of alice's (her secrets in its EXIF, filename and description), per cell. */
async function fixture(options: { trashed?: boolean } = {}): Promise<Fixture> {
  const { darkroom } = server.app
  const [album, album2] = await Promise.all([
    darkroom.albums.create(ALICE, { title: 'A' }),
    darkroom.albums.create(ALICE, { title: 'B' }),
  ])
  const bytes = await secretJpeg()
  const { uploaded } = await darkroom.photos.upload(ALICE, {
    albumId: album.id,
    files: [
      { filename: SECRET.filename, data: bytes },
      { filename: 'other.jpg', data: await makeJpeg({ seed: ++seed }) },
    ],
  })
  const [photo, other] = [...uploaded].sort((a, b) => a.index - b.index)
  await darkroom.photos.update(ALICE, { id: photo!.id, description: SECRET.description })
  if (options.trashed) await darkroom.photos.delete(ALICE, { id: photo!.id })
  return { photoId: photo!.id, bytes, otherId: other!.id, albumId: album.id, album2Id: album2.id }
}

const auth = () => ({ authorization: `Bearer ${writeOnly}` })
const REST = '/api/darkroom/v1'

function post(path: string, body: unknown, method = 'POST') {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { ...auth(), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

function form(path: string, fields: Record<string, string | File>, method = 'POST') {
  const data = new FormData()
  for (const [name, value] of Object.entries(fields)) data.append(name, value)
  return fetch(`${server.url}${path}`, { method, headers: auth(), body: data })
}

const file = (bytes: Uint8Array, name = SECRET.filename) =>
  new File([new Uint8Array(bytes)], name, { type: 'image/jpeg' })

/** A tus upload by alice's full key, with her photo's filename in its metadata. */
async function ownersTusUpload(): Promise<string> {
  const res = await fetch(`${server.url}/files`, {
    method: 'POST',
    headers: {
      'Tus-Resumable': '1.0.0',
      authorization: `Bearer ${owner}`,
      'Upload-Length': '1000',
      'Upload-Metadata': `filename ${Buffer.from(SECRET.filename).toString('base64')}`,
    },
  })
  expect(res.status).toBe(201)
  return res.headers.get('location')!.split('/').pop()!
}

type Cell = (f: Fixture) => Promise<Response>

// Each route a write-only key may call that answers about a photo, with the status it answers.
const CELLS: Record<string, { status: number; trashed?: boolean; call: Cell }> = {
  // tRPC
  'tRPC photos.update (no-op)': {
    status: 200,
    call: (f) => post('/trpc/photos.update', { id: f.photoId }),
  },
  'tRPC photos.move': {
    status: 200,
    call: (f) => post('/trpc/photos.move', { id: f.photoId, albumId: f.album2Id }),
  },
  'tRPC photos.move (copy)': {
    status: 200,
    call: (f) => post('/trpc/photos.move', { id: f.photoId, albumId: f.album2Id, copy: true }),
  },
  'tRPC photos.reorder': {
    status: 200,
    call: (f) => post('/trpc/photos.reorder', { id: f.photoId, after: f.otherId }),
  },
  'tRPC photos.restore': {
    status: 200,
    trashed: true,
    call: (f) => post('/trpc/photos.restore', { id: f.photoId }),
  },
  'tRPC photos.upload (new EXIF+GPS file)': {
    status: 200,
    call: async () => form('/trpc/photos.upload', { files: file(await secretJpeg()) }),
  },
  'tRPC photos.upload (her trashed bytes: restored)': {
    status: 200,
    trashed: true,
    call: (f) => form('/trpc/photos.upload', { files: file(f.bytes, 'mine.jpg') }),
  },
  'tRPC photos.get': {
    status: 403,
    call: (f) =>
      fetch(
        `${server.url}/trpc/photos.get?input=${encodeURIComponent(JSON.stringify({ id: f.photoId }))}`,
        { headers: auth() },
      ),
  },
  'tRPC uploads.status (her tus upload)': {
    status: 200,
    call: async () => {
      const id = await ownersTusUpload()
      const input = encodeURIComponent(JSON.stringify({ id }))
      return fetch(`${server.url}/trpc/uploads.status?input=${input}`, { headers: auth() })
    },
  },
  // The REST twin
  'REST PATCH /photos/{id} (no-op)': {
    status: 200,
    call: (f) => post(`${REST}/photos/${f.photoId}`, {}, 'PATCH'),
  },
  'REST POST /photos/{id}/move': {
    status: 200,
    call: (f) => post(`${REST}/photos/${f.photoId}/move`, { albumId: f.album2Id }),
  },
  'REST POST /photos/{id}/reorder': {
    status: 200,
    call: (f) => post(`${REST}/photos/${f.photoId}/reorder`, { after: f.otherId }),
  },
  'REST POST /photos/{id}/restore': {
    status: 200,
    trashed: true,
    call: (f) => post(`${REST}/photos/${f.photoId}/restore`, {}),
  },
  'REST POST /photos (new EXIF+GPS file)': {
    status: 201,
    call: async () => form(`${REST}/photos`, { files: file(await secretJpeg()) }),
  },
  'REST GET /uploads/{id} (her tus upload)': {
    status: 200,
    call: async () =>
      fetch(`${server.url}${REST}/uploads/${await ownersTusUpload()}`, { headers: auth() }),
  },
  // tus
  'tus HEAD /files/{id} (her upload)': {
    status: 200,
    call: async () =>
      fetch(`${server.url}/files/${await ownersTusUpload()}`, {
        method: 'HEAD',
        headers: { ...auth(), 'Tus-Resumable': '1.0.0' },
      }),
  },
  'tus POST + PATCH (new EXIF+GPS file)': {
    status: 204,
    call: async () => {
      const bytes = await secretJpeg()
      const created = await fetch(`${server.url}/files`, {
        method: 'POST',
        headers: {
          ...auth(),
          'Tus-Resumable': '1.0.0',
          'Upload-Length': String(bytes.length),
          'Upload-Metadata': `filename ${Buffer.from('w.jpg').toString('base64')}`,
        },
      })
      expect(created.status).toBe(201)
      return fetch(
        `${server.url}${new URL(created.headers.get('location')!, server.url).pathname}`,
        {
          method: 'PATCH',
          headers: {
            ...auth(),
            'Tus-Resumable': '1.0.0',
            'Upload-Offset': '0',
            'Content-Type': 'application/offset+octet-stream',
          },
          body: new Uint8Array(bytes),
        },
      )
    },
  },
  // Seed profiles
  'albums PATCH /api/photos/move': {
    status: 200,
    call: (f) => post('/albums/api/photos/move', { id: f.photoId, album_id: f.album2Id }, 'PATCH'),
  },
  'albums PATCH /api/photos/dimensions': {
    status: 200,
    call: (f) =>
      post('/albums/api/photos/dimensions', { id: f.photoId, width: 48, height: 32 }, 'PATCH'),
  },
  'albums POST /api/photos/upload (new EXIF+GPS file)': {
    status: 200,
    call: async () => form('/albums/api/photos/upload', { file: file(await secretJpeg()) }),
  },
  'imagehost PATCH /api/image/{id}': {
    status: 204,
    call: (f) => post(`/ih/api/image/${f.photoId}`, { isPublic: false }, 'PATCH'),
  },
  'imagehost POST /api/external/upload (a duplicate of hers)': {
    status: 201,
    call: (f) => form('/ih/api/external/upload', { image: file(f.bytes, 'mine.jpg') }),
  },
  'events PATCH /v1/photos/{id}': {
    status: 200,
    call: (f) => post(`/events/v1/photos/${f.photoId}`, { is_hidden: false }, 'PATCH'),
  },
  'events POST /v1/events/{id}/photos (new EXIF+GPS file)': {
    status: 201,
    call: async (f) =>
      form(`/events/v1/events/${f.albumId}/photos`, { photos: file(await secretJpeg()) }),
  },
  'social POST /api/v1/photos (new EXIF+GPS file)': {
    status: 200,
    call: async () => form('/social/api/v1/photos', { image: file(await secretJpeg()) }),
  },
  'groups PUT /v1/Photo/{id} (copy)': {
    status: 200,
    call: (f) =>
      post(`/groups/v1/Photo/${f.photoId}`, { GroupId: f.album2Id, DoCopy: true }, 'PUT'),
  },
}

/** The answer as the key sees it: status, headers (tus metadata decoded) and body. */
async function seen(res: Response): Promise<string> {
  const headers = [...res.headers].map(([name, value]) =>
    name === 'upload-metadata'
      ? `${name}: ${value
          .split(',')
          .map((pair) => {
            const [key, encoded] = pair.trim().split(' ')
            return `${key} ${Buffer.from(encoded ?? '', 'base64').toString()}`
          })
          .join(',')}`
      : `${name}: ${value}`,
  )
  return `${res.status}\n${headers.join('\n')}\n\n${await res.text()}`
}

describe('a write-only key is answered no photo data', () => {
  it.each(Object.entries(CELLS))('%s', async (_name, cell) => {
    const f = await fixture({ trashed: cell.trashed ?? false })
    const answer = await seen(await cell.call(f))
    expect(answer.split('\n')[0], answer).toBe(String(cell.status))
    for (const leak of LEAKS) expect(answer, `leaks ${leak}`).not.toContain(leak)
    // What it needs to go on is still there: the photo's id (the uploads are new photos).
    if (!/upload|tus|status|uploads|photos\.get|imagehost PATCH|copy/.test(_name)) {
      expect(answer).toContain(f.photoId.replaceAll('-', '').slice(0, 8))
    }
  })

  it('alice (photos.read) is still answered the whole photo', async () => {
    const f = await fixture()
    const res = await fetch(`${server.url}/trpc/photos.update`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: f.photoId }),
    })
    const text = await res.text()
    expect(res.status).toBe(200)
    for (const secret of [SECRET.filename, SECRET.description, SECRET.make, '48.858']) {
      expect(text).toContain(secret)
    }
  })
})
