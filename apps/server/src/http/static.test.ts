import { request } from 'node:http'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { asPhoto, makeJpeg } from '@darkroom/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, uploadForm, type TestServer } from '../testing/harness.js'
import { GALLERY_NOT_BUILT, safeRelativePath } from './static.js'

/**
 * The gallery at `/` (files, SPA fallback, caching, traversal) and `/session`, the HttpOnly
 * cookie that lets `<img>` load private pictures, over a real server.
 */

let base: string
let gallery: string
let server: TestServer
let key: string
let photoPath: string

/** A GET with the path sent exactly as written (fetch would normalise `..`). */
function rawGet(
  path: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}> {
  return rawRequest('GET', path, headers)
}

/** A request over node:http, headers exactly as given (no `Accept` unless given). */
function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}> {
  const url = new URL(server.url)
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'darkroom-static-'))
  gallery = join(base, 'web')
  await mkdir(join(gallery, 'assets'), { recursive: true })
  await writeFile(join(gallery, 'index.html'), '<!doctype html><title>gallery</title>')
  await writeFile(join(gallery, 'assets', 'index-abc123.js'), 'console.log(1)')
  await writeFile(join(gallery, 'assets', 'index-abc123.css'), 'body{}')
  await writeFile(join(gallery, '.env'), 'SECRET=1')
  await writeFile(join(base, 'outside.txt'), 'outside the gallery')
  server = await startServer({ env: { GALLERY_DIR: gallery } })
  key = await server.key('alice')
  const { uploaded } = await server
    .client(key)
    .photos.upload.mutate(
      uploadForm([{ name: 'a.jpg', data: await makeJpeg({ width: 400, height: 300, seed: 9 }) }]),
    )
  photoPath = new URL(asPhoto(uploaded[0]!).variants.small!, server.url).pathname
})
afterAll(async () => {
  await server.close()
  await rm(base, { recursive: true, force: true })
})

describe('the gallery at /', () => {
  it('serves index.html at / with a CSP and revalidation, and 304 on its ETag', async () => {
    const res = await fetch(`${server.url}/`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-cache')
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'")
    expect(await res.text()).toContain('<title>gallery</title>')
    const again = await fetch(`${server.url}/`, {
      headers: { 'If-None-Match': res.headers.get('etag')! },
    })
    expect(again.status).toBe(304)
  })

  it('serves hashed assets as immutable with their content types', async () => {
    const js = await fetch(`${server.url}/assets/index-abc123.js`)
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(js.headers.get('content-security-policy')).toBeNull()
    expect(await js.text()).toBe('console.log(1)')
    const css = await fetch(`${server.url}/assets/index-abc123.css`, { method: 'HEAD' })
    expect([css.status, css.headers.get('content-type')]).toEqual([200, 'text/css; charset=utf-8'])
  })

  it('answers index.html for app paths loaded as pages, 404 for a missing file', async () => {
    const html = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }
    const page = await fetch(`${server.url}/albums/some-album`, { headers: html })
    expect(page.status).toBe(200)
    expect(page.headers.get('vary')).toContain('Accept')
    expect(await page.text()).toContain('<title>gallery</title>')
    expect((await fetch(`${server.url}/assets/missing-123.js`)).status).toBe(404)
    expect((await fetch(`${server.url}/favicon.ico`)).status).toBe(404)
  })

  it('serves its HTML fallback only to page loads; any other unknown path is a JSON 404', async () => {
    const navigations: Record<string, string>[] = [
      { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
      { accept: '*/*', 'sec-fetch-mode': 'navigate' },
    ]
    for (const headers of navigations) {
      for (const method of ['GET', 'HEAD']) {
        const res = await rawRequest(method, '/v1/nothing', headers)
        expect([res.status, res.headers['content-type']], method).toEqual([
          200,
          'text/html; charset=utf-8',
        ])
      }
    }
    const refused: [method: string, path: string, headers: Record<string, string>][] = [
      ['GET', '/v1/nothing', { accept: '*/*' }],
      ['GET', '/v1/nothing', { accept: 'application/json' }],
      ['GET', '/v1/nothing', {}],
      ['HEAD', '/v1/nothing', { accept: 'application/json' }],
      ['POST', '/v1/nothing', { accept: 'text/html' }],
      ['DELETE', '/albums/x', { accept: 'text/html' }],
      ['GET', '/assets/x.js', { accept: 'text/html' }],
      ['GET', '/assets/x.js', { accept: '*/*' }],
      // Darkroom's prefixes answer for themselves, to page loads too.
      ['GET', '/api/v1/photos', { accept: 'text/html' }],
      ['POST', '/api/v1/photos', { accept: '*/*' }],
      ['GET', '/trpc/nothing.here', { accept: 'text/html' }],
      ['GET', '/files/a/b', { accept: 'text/html' }],
      ['GET', '/image/nothing', { accept: 'text/html' }],
      ['PUT', '/photos/nothing', { accept: 'text/html' }],
    ]
    for (const [method, path, headers] of refused) {
      const res = await rawRequest(method, path, headers)
      const what = `${method} ${path} ${JSON.stringify(headers)}`
      expect(res.status, what).toBe(404)
      expect(res.headers['content-type'], what).toMatch(/^application\/json/)
      expect(res.body, what).not.toContain('<title>gallery</title>')
      if (method === 'HEAD') continue
      const body = JSON.parse(res.body) as {
        error: { code: string | number; data?: { code: string } }
      }
      // tRPC's own error shape under /trpc, Darkroom's everywhere else.
      expect(path.startsWith('/trpc/') ? body.error.data?.code : body.error.code, what).toBe(
        'NOT_FOUND',
      )
    }
  })

  it('serves its real files to any Accept', async () => {
    for (const accept of ['application/json', '*/*', 'image/webp']) {
      const index = await rawRequest('GET', '/', { accept })
      expect([index.status, index.headers['content-type']], accept).toEqual([
        200,
        'text/html; charset=utf-8',
      ])
      expect(String(index.headers.vary ?? '').split(/,\s*/), accept).not.toContain('Accept')
      const js = await rawRequest('GET', '/assets/index-abc123.js', { accept })
      expect([js.status, js.body], accept).toEqual([200, 'console.log(1)'])
    }
  })

  it('never leaves the folder nor serves dot-files', async () => {
    for (const path of [
      '/../outside.txt',
      '/assets/../../outside.txt',
      '/%2e%2e/outside.txt',
      '/%2e%2e%2foutside.txt',
      '/..%5coutside.txt',
      '/.env',
      '/%2eenv',
      '/assets/%00.js',
    ]) {
      const res = await rawGet(path)
      expect(res.body, path).not.toContain('outside the gallery')
      expect(res.body, path).not.toContain('SECRET')
      expect([400, 404], path).toContain(res.status)
    }
    expect((await rawGet('/%E0%A4%A')).status).toBe(400)
    expect(() => safeRelativePath('/a/../../b')).toThrow()
    expect(safeRelativePath('/assets/x.js?v=1')).toBe('assets/x.js')
    expect(safeRelativePath('/')).toBe('')
  })

  it('answers only GET and HEAD; API routes keep priority', async () => {
    const post = await fetch(`${server.url}/`, { method: 'POST' })
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD'])
    const health = await fetch(`${server.url}/healthz`)
    expect(health.headers.get('content-type')).toMatch(/^application\/json/)
    // The photo route answers (naming the photo), not the gallery's 404.
    const photo = await fetch(`${server.url}/photos/nope/small.webp`)
    expect(photo.status).toBe(404)
    expect(((await photo.json()) as { error: { message: string } }).error.message).toContain('nope')
    const trpc = await fetch(`${server.url}/trpc/albums.list`)
    expect(trpc.status).toBe(401)
  })

  it('answers 404 with how to build it when the gallery is not built', async () => {
    const bare = await startServer({ env: { GALLERY_DIR: join(base, 'not-built') } })
    try {
      const res = await fetch(`${bare.url}/`)
      expect(res.status).toBe(404)
      const body = (await res.json()) as { error: { message: string } }
      expect(body.error.message).toBe(GALLERY_NOT_BUILT)
      expect(body.error.message).toContain('npm run build:web')
      const page = await fetch(`${bare.url}/albums/x`, { headers: { accept: 'text/html' } })
      expect(((await page.json()) as { error: { message: string } }).error.message).toBe(
        GALLERY_NOT_BUILT,
      )
      const api = await fetch(`${bare.url}/v1/nothing`, { headers: { accept: 'application/json' } })
      expect([api.status, await api.json()]).toEqual([
        404,
        { error: { code: 'NOT_FOUND', message: 'Not found.' } },
      ])
    } finally {
      await bare.close()
    }
  })
})

describe('/session: the picture cookie', () => {
  const sessionCookie = async (bearer: string) => {
    const response = await fetch(`${server.url}/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}` },
    })
    return (response.headers.get('set-cookie') ?? '').split(';')[0]!
  }

  it('sets an HttpOnly SameSite=Strict session cookie for a valid key only', async () => {
    const none = await fetch(`${server.url}/session`, { method: 'POST' })
    expect(none.status).toBe(401)
    expect(none.headers.get('set-cookie')).toBeNull()
    const wrong = await fetch(`${server.url}/session`, {
      method: 'POST',
      headers: { authorization: `Bearer sk_${'x'.repeat(40)}` },
    })
    expect(wrong.status).toBe(401)
    const ok = await fetch(`${server.url}/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
    })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ ownerId: 'alice' })
    // An opaque session id, never the key (issue 15 #12).
    expect(ok.headers.get('set-cookie')).toMatch(
      /^darkroom_session=ds_[A-Za-z0-9]{40}; Path=\/; HttpOnly; SameSite=Strict$/,
    )
    const cleared = await fetch(`${server.url}/session`, { method: 'DELETE' })
    expect(cleared.headers.get('set-cookie')).toMatch(/^darkroom_session=; .*Max-Age=0$/)
    expect((await fetch(`${server.url}/session`)).status).toBe(405)
  })

  it('lets the cookie load private pictures, and nothing else', async () => {
    const cookie = { cookie: `theme=dark; ${await sessionCookie(key)}` }
    // Anonymous, a private photo is not there at all.
    expect((await fetch(`${server.url}${photoPath}`)).status).toBe(404)
    const withCookie = await fetch(`${server.url}${photoPath}`, { headers: cookie })
    expect(withCookie.status).toBe(200)
    expect(withCookie.headers.get('content-type')).toMatch(/^image\//)
    const id = photoPath.split('/')[2]!
    expect((await fetch(`${server.url}/image/${id}.jpg?w=64`, { headers: cookie })).status).toBe(
      200,
    )
    // tRPC and tus ignore it: a cookie cannot be ridden to change anything.
    expect((await fetch(`${server.url}/trpc/albums.list`, { headers: cookie })).status).toBe(401)
    const tus = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: { ...cookie, 'Tus-Resumable': '1.0.0', 'Upload-Length': '10' },
    })
    expect(tus.status).toBe(401)
    // Someone else's session in the cookie: the photo does not exist for them.
    const bob = await fetch(`${server.url}${photoPath}`, {
      headers: { cookie: await sessionCookie(await server.key('bob')) },
    })
    expect(bob.status).toBe(404)
    // A key, or an unknown session, in the cookie reads as anonymous: public pictures still load.
    for (const value of [key, `ds_${'y'.repeat(40)}`]) {
      const stale = { cookie: `darkroom_session=${value}` }
      expect((await fetch(`${server.url}${photoPath}`, { headers: stale })).status).toBe(404)
    }
    await server.client(key).photos.update.mutate({ id, isPublic: true })
    const stale = { cookie: `darkroom_session=ds_${'y'.repeat(40)}` }
    expect((await fetch(`${server.url}${photoPath}`, { headers: stale })).status).toBe(200)
  })
})
