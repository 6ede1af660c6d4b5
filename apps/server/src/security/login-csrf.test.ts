import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asPhoto, makeJpeg } from '@darkroom/core/testing'
import { startServer, uploadForm, type TestServer } from '../testing/harness.js'
import { startServerProcess } from '../testing/processes.js'

/**
 * Issue 15 #6 and #12 (second half), the way an attacker would go at them over raw HTTP:
 * - the first-start output never puts a long-lived key in a URL; it prints a one-time sign-in
 *   code, which is exchanged once (a second use, or a use after 10 minutes, is refused);
 * - the picture cookie carries an opaque session id, never the key; it does not authenticate
 *   a cross-site form's write to /trpc, and a cross-site form cannot exchange a code either;
 * - the cookie gets `Secure` behind a TLS proxy only when the proxy is trusted (`TRUST_PROXY`).
 * Whether the gallery asks before switching identity is in the gallery's browser tests.
 */

let server: TestServer
let key: string

beforeAll(async () => {
  server = await startServer()
  key = await server.key('alice')
})
afterAll(() => server?.close())

const json = { 'content-type': 'application/json' }

function cookieOf(response: Response): string {
  const header = response.headers.get('set-cookie') ?? ''
  return header.split(';')[0]!
}

async function mintCode(at?: Date): Promise<string> {
  // The CLI's and first start's own function, with a clock set back for the expiry case.
  const { createSignInCode, hashApiKey } = await import('@darkroom/trpc')
  const record = await server.app.serverStore.findApiKeyByHash(hashApiKey(key))
  const clock = at ? { now: () => at } : undefined
  const { code } = await createSignInCode(
    server.app.serverStore,
    { keyId: record!.id },
    clock ? { clock } : {},
  )
  return code
}

describe('first start', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'darkroom-first-start-'))
    const gallery = join(dir, 'gallery')
    await import('node:fs/promises').then((fs) => fs.mkdir(gallery))
    await writeFile(join(gallery, 'index.html'), '<!doctype html><title>gallery</title>')
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('prints a one-time sign-in link, never a key in a URL; the code works once', async () => {
    const started = await startServerProcess({
      DATA_DIR: join(dir, 'data'),
      GALLERY_DIR: join(dir, 'gallery'),
    })
    try {
      await expect.poll(() => started.output()).toMatch(/Open the web gallery/)
      const output = started.output()
      // No URL anywhere in the output carries an API key.
      for (const url of output.match(/https?:\/\/\S+/g) ?? []) expect(url).not.toMatch(/sk_/)
      const code = /\/#code=(sc_[A-Za-z0-9]+)/.exec(output)?.[1]
      expect(code).toBeDefined()

      const exchange = () =>
        fetch(`${started.url}/session`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ code }),
        })
      const first = await exchange()
      expect(first.status).toBe(200)
      const body = (await first.json()) as { token: string; ownerId: string }
      expect(body.ownerId).toBe('admin')
      // The page's credential is a session token, which works as a bearer for /trpc.
      const list = await fetch(`${started.url}/trpc/albums.list`, {
        headers: { authorization: `Bearer ${body.token}` },
      })
      expect(list.status).toBe(200)
      // Single use.
      const again = await exchange()
      expect(again.status).toBe(401)
      expect(again.headers.get('set-cookie')).toBeNull()
    } finally {
      await started.stop()
    }
  })
})

describe('sign-in codes', () => {
  it('are refused after 10 minutes', async () => {
    const code = await mintCode(new Date(Date.now() - 10 * 60_000 - 1_000))
    const late = await fetch(`${server.url}/session`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ code }),
    })
    expect(late.status).toBe(401)
    expect(((await late.json()) as { error: { message: string } }).error.message).toMatch(
      /10 minutes/,
    )
  })

  it('cannot be exchanged by a cross-site form (login CSRF)', async () => {
    const code = await mintCode()
    // What a form on another site can send: a simple content type, Sec-Fetch-Site cross-site.
    const form = await fetch(`${server.url}/session`, {
      method: 'POST',
      headers: {
        'content-type': 'text/plain',
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
      },
      body: JSON.stringify({ code }),
    })
    expect(form.status).toBe(403)
    expect(form.headers.get('set-cookie')).toBeNull()
    // The code is still good for the person it was meant for.
    const own = await fetch(`${server.url}/session`, {
      method: 'POST',
      headers: { ...json, 'sec-fetch-site': 'same-origin' },
      body: JSON.stringify({ code }),
    })
    expect(own.status).toBe(200)
  })
})

describe('the picture cookie', () => {
  it('carries a session id, not the key, and stops working on DELETE /session', async () => {
    const signIn = await fetch(`${server.url}/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
    })
    expect(signIn.status).toBe(200)
    const cookie = cookieOf(signIn)
    expect(cookie).toMatch(/^darkroom_session=ds_[A-Za-z0-9]{40}$/)
    expect(signIn.headers.get('set-cookie')).not.toContain(key)
    expect(signIn.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/)
    // The id is stored hashed: the database has no row holding it.
    const token = cookie.split('=')[1]!
    const { hashApiKey } = await import('@darkroom/trpc')
    expect(await server.app.serverStore.findSessionByHash(token)).toBeNull()
    expect(await server.app.serverStore.findSessionByHash(hashApiKey(token))).not.toBeNull()

    const picture = await privatePicture()
    expect((await fetch(picture, { headers: { cookie } })).status).toBe(200)
    expect((await fetch(picture)).status).toBe(404)

    const out = await fetch(`${server.url}/session`, { method: 'DELETE', headers: { cookie } })
    expect(out.status).toBe(204)
    expect(out.headers.get('set-cookie')).toMatch(/^darkroom_session=; .*Max-Age=0$/)
    // A copy of the cookie kept by someone is dead too.
    expect((await fetch(picture, { headers: { cookie } })).status).toBe(404)
  })

  it('dies with its key', async () => {
    const other = await server.key('alice')
    const signIn = await fetch(`${server.url}/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other}` },
    })
    const cookie = cookieOf(signIn)
    const picture = await privatePicture()
    expect((await fetch(picture, { headers: { cookie } })).status).toBe(200)
    const { hashApiKey } = await import('@darkroom/trpc')
    const record = await server.app.serverStore.findApiKeyByHash(hashApiKey(other))
    await server.app.serverStore.revokeApiKey(record!.id, new Date())
    expect((await fetch(picture, { headers: { cookie } })).status).toBe(404)
  })

  it('does not authenticate a cross-site form that writes to /trpc', async () => {
    const signIn = await fetch(`${server.url}/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
    })
    const cookie = cookieOf(signIn)
    const before = await server.client(key).albums.list.query()
    // A form posts `text/plain` with whatever cookies the browser holds for the site.
    const forged = await fetch(`${server.url}/trpc/albums.create`, {
      method: 'POST',
      headers: {
        cookie,
        'content-type': 'text/plain',
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
      },
      body: JSON.stringify({ title: 'forged' }),
    })
    // Refused (401, or 415 for the form's content type) and nothing was created.
    expect([401, 415]).toContain(forged.status)
    expect(await server.client(key).albums.list.query()).toHaveLength(before.length)
    // Nor does the cookie read anything through /trpc.
    const read = await fetch(`${server.url}/trpc/albums.list`, { headers: { cookie } })
    expect(read.status).toBe(401)
  })
})

describe('Secure behind a TLS proxy', () => {
  const signInBehindProxy = async (at: TestServer) =>
    fetch(`${at.url}/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await at.key('alice')}`, 'x-forwarded-proto': 'https' },
    })

  it('is set when the proxy is trusted (TRUST_PROXY=loopback)', async () => {
    const trusting = await startServer({ env: { TRUST_PROXY: 'loopback' } })
    try {
      const response = await signInBehindProxy(trusting)
      expect(response.headers.get('set-cookie')).toMatch(/; Secure(;|$)/)
    } finally {
      await trusting.close()
    }
  })

  it('is not set when X-Forwarded-Proto comes from an untrusted client', async () => {
    const plain = await startServer()
    try {
      const response = await signInBehindProxy(plain)
      expect(response.status).toBe(200)
      expect(response.headers.get('set-cookie')).not.toMatch(/Secure/)
    } finally {
      await plain.close()
    }
  })
})

/** The URL of a private picture of alice's. */
let seed = 15
async function privatePicture(): Promise<string> {
  // Bytes of its own each time: the same bytes again would be a duplicate.
  const data = await makeJpeg({ width: 64, height: 48, seed: seed++ })
  const form = uploadForm([{ name: 'a.jpg', data }])
  const [photo] = (await server.client(key).photos.upload.mutate(form)).uploaded
  return new URL(asPhoto(photo!).variants.small!, server.url).href
}
