import { makeJpeg } from '@darkroom/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeClient, startServer, uploadForm, type TestServer } from '../testing/harness.js'

/**
 * Guest mode (`GUEST_UPLOADS=true`) as anonymous uploaders would attack it: every guest is the
 * owner `guest`, so nothing about one guest's uploads may reach another. A duplicate names no
 * photo (and restores none), a tus upload answers only to the browser that created it (its
 * guest cookie), and the per-address rate limit sees each client behind a trusted proxy, not
 * the proxy, while a spoofed `X-Forwarded-For` buys no fresh bucket.
 */

const TUS = { 'Tus-Resumable': '1.0.0' }
let seed = 9100

describe('guest duplicates', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({
      env: { GUEST_UPLOADS: 'true', RATE_LIMIT_UPLOADS_PER_MINUTE: '0' },
    })
  })
  afterAll(() => server.close())

  it('a guest re-sending another guest’s bytes learns no photo id, by tRPC, REST or tus', async () => {
    const bytes = await makeJpeg({ width: 64, height: 48, seed: ++seed })
    const first = await makeClient(server.url, null).photos.upload.mutate(
      uploadForm([{ name: 'a.jpg', data: bytes }]),
    )
    const theirs = first.uploaded[0]!.id
    expect(theirs).toBeTruthy()

    // tRPC: the batch answers a neutral duplicate skip.
    const trpc = await fetch(`${server.url}/trpc/photos.upload`, {
      method: 'POST',
      body: uploadForm([{ name: 'b.jpg', data: bytes }]),
    })
    const trpcText = await trpc.text()
    expect(trpcText).not.toContain(theirs)
    expect(trpc.status).toBe(200)
    expect(JSON.parse(trpcText)).toMatchObject({
      result: { data: { uploaded: [], skipped: [{ reason: 'duplicate' }] } },
    })

    // The REST twin.
    const rest = await fetch(`${server.url}/api/darkroom/v1/photos`, {
      method: 'POST',
      body: uploadForm([{ name: 'c.jpg', data: bytes }]),
    })
    expect(await rest.text()).not.toContain(theirs)

    // tus: the last PATCH carries no photo id, and its record names none on HEAD.
    const created = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: { ...TUS, 'Upload-Length': String(bytes.byteLength) },
    })
    expect(created.status).toBe(201)
    const cookie = guestCookie(created)
    const location = new URL(created.headers.get('location')!, server.url).toString()
    const patch = await fetch(location, {
      method: 'PATCH',
      headers: {
        ...TUS,
        ...cookie,
        'Upload-Offset': '0',
        'Content-Type': 'application/offset+octet-stream',
      },
      body: bytes,
    })
    const patchText = await patch.text()
    expect(patch.headers.get('darkroom-photo-id')).toBeNull()
    expect(patchText).not.toContain(theirs)
    expect(patch.status).toBe(422)
    expect(JSON.parse(patchText)).toMatchObject({
      error: { message: 'The same file is already stored.' },
    })
    const head = await fetch(location, { method: 'HEAD', headers: { ...TUS, ...cookie } })
    expect([...head.headers.values()].join(' ')).not.toContain(theirs)

    // The first guest's photo is untouched.
    const photo = await server.app.darkroom.photos.get(
      { ownerId: 'guest', scopes: ['photos.read'] },
      { id: theirs },
    )
    expect(photo).toMatchObject({ id: theirs, filename: 'a.jpg', deletedAt: null })
  })

  it('a guest re-sending bytes the owner trashed does not bring the photo back', async () => {
    const bytes = await makeJpeg({ width: 64, height: 48, seed: ++seed })
    const { uploaded } = await makeClient(server.url, null).photos.upload.mutate(
      uploadForm([{ name: 'gone.jpg', data: bytes }]),
    )
    const admin = { ownerId: 'guest', scopes: ['photos.read', 'photos.write'] }
    await server.app.darkroom.photos.delete(admin, { id: uploaded[0]!.id })

    const again = await makeClient(server.url, null).photos.upload.mutate(
      uploadForm([{ name: 'again.jpg', data: bytes }]),
    )
    expect(again).toMatchObject({ uploaded: [], skipped: [{ reason: 'duplicate' }] })
    expect(JSON.stringify(again)).not.toContain(uploaded[0]!.id)
    const trashed = await server.app.darkroom.photos.get(
      { ownerId: 'guest', scopes: ['photos.read'] },
      { id: uploaded[0]!.id },
    )
    expect(trashed.deletedAt).not.toBeNull()
  })

  it('a signed-in owner still learns its own duplicate', async () => {
    const key = await server.key('dana')
    const bytes = await makeJpeg({ width: 64, height: 48, seed: ++seed })
    const client = server.client(key)
    const first = await client.photos.upload.mutate(uploadForm([{ name: 'd.jpg', data: bytes }]))
    const again = await client.photos.upload.mutate(uploadForm([{ name: 'd.jpg', data: bytes }]))
    expect(again.skipped[0]).toMatchObject({
      reason: 'duplicate',
      existingId: first.uploaded[0]!.id,
    })
  })
})

describe('guest tus uploads', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({
      env: { GUEST_UPLOADS: 'true', RATE_LIMIT_UPLOADS_PER_MINUTE: '0' },
    })
  })
  afterAll(() => server.close())

  /** A guest's upload with its first half written; its URL and its creator's cookie. */
  async function startGuestUpload(bytes: Buffer) {
    const created = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: { ...TUS, 'Upload-Length': String(bytes.byteLength) },
    })
    expect(created.status).toBe(201)
    const cookie = guestCookie(created)
    const url = new URL(created.headers.get('location')!, server.url).toString()
    const half = Math.floor(bytes.byteLength / 2)
    const patch = await fetch(url, {
      method: 'PATCH',
      headers: {
        ...TUS,
        ...cookie,
        'Upload-Offset': '0',
        'Content-Type': 'application/offset+octet-stream',
      },
      body: bytes.subarray(0, half),
    })
    expect(patch.status).toBe(204)
    return { url, cookie, half }
  }

  it('another guest, with or without a cookie of its own, gets 404 for HEAD, PATCH and DELETE', async () => {
    const bytes = await makeJpeg({ width: 320, height: 240, seed: ++seed })
    const { url, cookie, half } = await startGuestUpload(bytes)
    // Another guest's own cookie, from an upload of its own.
    const other = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: { ...TUS, 'Upload-Length': '10' },
    })
    const otherCookie = guestCookie(other)

    for (const headers of [{}, otherCookie, { cookie: 'darkroom_guest=forged' }]) {
      const head = await fetch(url, { method: 'HEAD', headers: { ...TUS, ...headers } })
      expect(head.status).toBe(404)
      const patch = await fetch(url, {
        method: 'PATCH',
        headers: {
          ...TUS,
          ...headers,
          'Upload-Offset': String(half),
          'Content-Type': 'application/offset+octet-stream',
        },
        body: Buffer.from('spoiled'),
      })
      expect(patch.status).toBe(404)
      const del = await fetch(url, { method: 'DELETE', headers: { ...TUS, ...headers } })
      expect(del.status).toBe(404)
    }

    // The creator's upload is intact and finishes.
    const head = await fetch(url, { method: 'HEAD', headers: { ...TUS, ...cookie } })
    expect(head.status).toBe(200)
    expect(head.headers.get('upload-offset')).toBe(String(half))
    const rest = await fetch(url, {
      method: 'PATCH',
      headers: {
        ...TUS,
        ...cookie,
        'Upload-Offset': String(half),
        'Content-Type': 'application/offset+octet-stream',
      },
      body: bytes.subarray(half),
    })
    expect(rest.status).toBe(204)
    expect(rest.headers.get('darkroom-photo-id')).toBeTruthy()
    // Settled, it still answers only its creator.
    expect((await fetch(url, { method: 'HEAD', headers: TUS })).status).toBe(404)
    expect((await fetch(url, { method: 'HEAD', headers: { ...TUS, ...cookie } })).status).toBe(200)
  })

  it('the creator may terminate its own upload; a guest cannot name another’s partials', async () => {
    const bytes = await makeJpeg({ width: 320, height: 240, seed: ++seed })
    const { url, cookie } = await startGuestUpload(bytes)
    const del = await fetch(url, { method: 'DELETE', headers: { ...TUS, ...cookie } })
    expect(del.status).toBe(204)

    const part = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: { ...TUS, 'Upload-Length': '4', 'Upload-Concat': 'partial' },
    })
    expect(part.status).toBe(201)
    const partPath = new URL(part.headers.get('location')!, server.url).pathname
    const final = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: { ...TUS, 'Upload-Concat': `final;${partPath}` },
    })
    expect(final.status).toBe(404)
  })

  it('the cookie is HttpOnly, SameSite and scoped to the uploads path', async () => {
    const created = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: { ...TUS, 'Upload-Length': '10' },
    })
    const setCookie = created.headers.get('set-cookie') ?? ''
    expect(setCookie).toMatch(/^darkroom_guest=[A-Za-z0-9_-]{43};/)
    expect(setCookie).toMatch(/; HttpOnly/)
    expect(setCookie).toMatch(/; SameSite=Strict/)
    expect(setCookie).toMatch(/; Path=\/files/)
    // A guest that has one keeps it: no new cookie.
    const again = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: { ...TUS, 'Upload-Length': '10', cookie: setCookie.split(';')[0]! },
    })
    expect(again.status).toBe(201)
    expect(again.headers.get('set-cookie')).toBeNull()
  })
})

describe('guests behind a proxy: one bucket per client address', () => {
  const upload = (url: string, headers: Record<string, string>, n: number) =>
    fetch(`${url}/files`, {
      method: 'POST',
      headers: { ...TUS, 'Upload-Length': String(100 + n), ...headers },
    }).then((r) => r.status)

  it('without TRUST_PROXY, X-Forwarded-For is ignored: spoofing it buys no fresh bucket', async () => {
    const server = await startServer({
      env: { GUEST_UPLOADS: 'true', RATE_LIMIT_UPLOADS_PER_MINUTE: '2' },
    })
    try {
      const statuses = []
      for (let i = 0; i < 4; i++) {
        statuses.push(await upload(server.url, { 'X-Forwarded-For': `203.0.113.${i}` }, i))
      }
      expect(statuses).toEqual([201, 201, 429, 429])
    } finally {
      await server.close()
    }
  })

  it('with TRUST_PROXY=loopback, each forwarded client has its own bucket; a forged hop does not count', async () => {
    const server = await startServer({
      env: {
        GUEST_UPLOADS: 'true',
        RATE_LIMIT_UPLOADS_PER_MINUTE: '2',
        TRUST_PROXY: 'loopback',
      },
    })
    try {
      const a = { 'X-Forwarded-For': '198.51.100.7' }
      const b = { 'X-Forwarded-For': '198.51.100.8' }
      expect(await upload(server.url, a, 1)).toBe(201)
      expect(await upload(server.url, a, 2)).toBe(201)
      expect(await upload(server.url, a, 3)).toBe(429)
      // Another client behind the same proxy is not held back by the first.
      expect(await upload(server.url, b, 4)).toBe(201)
      // The first client forging a hop before its own address: the proxy appends the real one,
      // the rightmost untrusted address is still the first client's.
      const forged = { 'X-Forwarded-For': '192.0.2.99, 198.51.100.7' }
      expect(await upload(server.url, forged, 5)).toBe(429)
    } finally {
      await server.close()
    }
  })

  it('the guest cookie is Secure when a trusted proxy says https, not when a client does', async () => {
    const create = (url: string) =>
      fetch(`${url}/files`, {
        method: 'POST',
        headers: { ...TUS, 'Upload-Length': '10', 'X-Forwarded-Proto': 'https' },
      }).then((r) => r.headers.get('set-cookie') ?? '')
    const trusting = await startServer({ env: { GUEST_UPLOADS: 'true', TRUST_PROXY: 'loopback' } })
    const direct = await startServer({ env: { GUEST_UPLOADS: 'true' } })
    try {
      expect(await create(trusting.url)).toMatch(/^darkroom_guest=.*; Secure(;|$)/)
      const plain = await create(direct.url)
      expect(plain).toMatch(/^darkroom_guest=/)
      expect(plain).not.toMatch(/Secure/)
    } finally {
      await Promise.all([trusting.close(), direct.close()])
    }
  })

  it('with TRUST_PROXY=1 (one hop), the address the proxy appended is the client', async () => {
    const server = await startServer({
      env: { GUEST_UPLOADS: 'true', RATE_LIMIT_UPLOADS_PER_MINUTE: '1', TRUST_PROXY: '1' },
    })
    try {
      expect(await upload(server.url, { 'X-Forwarded-For': '192.0.2.1, 198.51.100.9' }, 1)).toBe(
        201,
      )
      expect(await upload(server.url, { 'X-Forwarded-For': '192.0.2.2, 198.51.100.9' }, 2)).toBe(
        429,
      )
      expect(await upload(server.url, { 'X-Forwarded-For': '198.51.100.10' }, 3)).toBe(201)
    } finally {
      await server.close()
    }
  })
})

/** The `Cookie` header that sends back the guest cookie a response set. */
function guestCookie(response: Response): { cookie?: string } {
  const set = response.headers.get('set-cookie')
  return set ? { cookie: set.split(';')[0]! } : {}
}
