import { request } from 'node:http'
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../testing/harness.js'
import { acceptedEncodings, CompressedFiles } from './compressed-files.js'

/**
 * The gallery's text files in brotli or gzip, negotiated per request, over a real server (raw
 * `node:http` requests, which neither ask for nor undo any encoding by themselves).
 */

let base: string
let gallery: string
let server: TestServer
let js: Buffer
let css: Buffer

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const url = new URL(server.url)
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      )
    })
    req.on('error', reject)
    req.end()
  })
}

/** Script-like text of about `bytes` bytes: repetitive enough to compress as real bundles do. */
function bundle(bytes: number, seed: number): Buffer {
  const parts: string[] = []
  let size = 0
  for (let i = 0; size < bytes; i++) {
    const part = `function component${seed}_${i}(props){return h("div",{className:"item-${i % 97}"},props.children)}\n`
    parts.push(part)
    size += part.length
  }
  return Buffer.from(parts.join(''))
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'darkroom-static-gz-'))
  gallery = join(base, 'web')
  await mkdir(join(gallery, 'assets'), { recursive: true })
  js = bundle(200_000, 1)
  css = Buffer.from('.card{display:flex;gap:8px;padding:4px}\n'.repeat(200))
  await writeFile(
    join(gallery, 'index.html'),
    `<!doctype html><title>gallery</title>${' '.repeat(2000)}`,
  )
  await writeFile(join(gallery, 'assets', 'index-abc.js'), js)
  await writeFile(join(gallery, 'assets', 'index-abc.css'), css)
  await writeFile(join(gallery, 'assets', 'tiny.js'), 'console.log(1)')
  await writeFile(join(gallery, 'assets', 'logo.png'), Buffer.alloc(5000, 7))
  server = await startServer({ env: { GALLERY_DIR: gallery } })
})
afterAll(async () => {
  await server.close()
  await rm(base, { recursive: true, force: true })
})

describe('compressed gallery files', () => {
  it('sends brotli when taken (gzip until brotli is ready), with Vary and its own ETag', async () => {
    const first = await get('/assets/index-abc.js', { 'accept-encoding': 'gzip, deflate, br' })
    expect(first.status).toBe(200)
    expect(['br', 'gzip']).toContain(first.headers['content-encoding'])
    // Brotli is made in the background; soon every request gets it.
    let br: Answer = first
    for (let i = 0; i < 100 && br.headers['content-encoding'] !== 'br'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      br = await get('/assets/index-abc.js', { 'accept-encoding': 'gzip, deflate, br' })
    }
    expect(br.headers['content-encoding']).toBe('br')
    expect(br.headers.vary).toBe('Accept-Encoding')
    expect(br.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(Number(br.headers['content-length'])).toBe(br.body.byteLength)
    expect(br.body.byteLength).toBeLessThan(js.byteLength / 5)
    expect(brotliDecompressSync(br.body).equals(js)).toBe(true)
    expect(br.headers.etag).toMatch(/^W\/"[0-9a-f]+-[0-9a-f]+-br"$/)

    const gz = await get('/assets/index-abc.js', { 'accept-encoding': 'gzip' })
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(gz.body).equals(js)).toBe(true)
    expect(gz.headers.etag).toMatch(/-gzip"$/)

    const plain = await get('/assets/index-abc.js')
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.headers.vary).toBe('Accept-Encoding')
    expect(plain.body.equals(js)).toBe(true)
    expect(Number(plain.headers['content-length'])).toBe(js.byteLength)

    expect(new Set([br.headers.etag, gz.headers.etag, plain.headers.etag]).size).toBe(3)
  })

  it('honours q-values: br;q=0 gives gzip, identity only gives the file as it is', async () => {
    const noBr = await get('/assets/index-abc.css', { 'accept-encoding': 'br;q=0, gzip' })
    expect(noBr.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(noBr.body).equals(css)).toBe(true)
    const identity = await get('/assets/index-abc.css', { 'accept-encoding': 'identity' })
    expect(identity.headers['content-encoding']).toBeUndefined()
    expect(identity.body.equals(css)).toBe(true)
    const none = await get('/assets/index-abc.css', { 'accept-encoding': '*;q=0, identity' })
    expect(none.headers['content-encoding']).toBeUndefined()
  })

  it('HEAD and 304 agree with GET for each encoding', async () => {
    const headers = { 'accept-encoding': 'gzip' }
    const got = await get('/assets/index-abc.css', headers)
    const head = await get('/assets/index-abc.css', headers, 'HEAD')
    expect(head.status).toBe(200)
    expect(head.body.byteLength).toBe(0)
    for (const name of ['content-encoding', 'content-length', 'etag', 'vary', 'content-type']) {
      expect(head.headers[name], name).toBe(got.headers[name])
    }
    const etag = got.headers.etag as string
    const notModified = await get('/assets/index-abc.css', { ...headers, 'if-none-match': etag })
    expect(notModified.status).toBe(304)
    expect(notModified.body.byteLength).toBe(0)
    expect(notModified.headers.etag).toBe(etag)
    expect(notModified.headers.vary).toBe('Accept-Encoding')
    // The gzip validator does not fit the identity representation: a full answer.
    const other = await get('/assets/index-abc.css', { 'if-none-match': etag })
    expect(other.status).toBe(200)
    expect(other.headers['content-encoding']).toBeUndefined()
  })

  it('compresses index.html (and the app fallback) but not tiny files or images', async () => {
    const page = await get('/albums/x', { 'accept-encoding': 'gzip', accept: 'text/html' })
    expect(page.headers['content-encoding']).toBe('gzip')
    expect(page.headers['content-security-policy']).toContain("default-src 'self'")
    expect(gunzipSync(page.body).toString()).toContain('<title>gallery</title>')
    const tiny = await get('/assets/tiny.js', { 'accept-encoding': 'gzip, br' })
    expect(tiny.headers['content-encoding']).toBeUndefined()
    expect(tiny.headers.vary).toBeUndefined()
    expect(tiny.body.toString()).toBe('console.log(1)')
    const png = await get('/assets/logo.png', { 'accept-encoding': 'gzip, br' })
    expect(png.headers['content-encoding']).toBeUndefined()
    expect(png.body.byteLength).toBe(5000)
  })
})

describe('CompressedFiles', () => {
  it('compresses a file version once and again only when it changes', async () => {
    const path = join(base, 'cached.js')
    await writeFile(path, bundle(50_000, 2))
    const files = new CompressedFiles()
    const version = async () => {
      const info = await stat(path)
      return { path, size: info.size, mtimeMs: info.mtimeMs }
    }
    const one = await files.get(await version(), ['gzip'])
    const two = await files.get(await version(), ['gzip'])
    expect(one!.data).toBe(two!.data)
    await writeFile(path, bundle(60_000, 3))
    await utimes(path, new Date(), new Date(Date.now() + 5_000))
    const three = await files.get(await version(), ['gzip'])
    expect(three!.data).not.toBe(one!.data)
    expect(gunzipSync(three!.data).equals(bundle(60_000, 3))).toBe(true)
  })

  it('keeps its copies under maxTotalBytes', async () => {
    const files = new CompressedFiles({ maxTotalBytes: 1 })
    const path = join(base, 'evicted.js')
    await writeFile(path, bundle(20_000, 4))
    const info = await stat(path)
    const file = { path, size: info.size, mtimeMs: info.mtimeMs }
    const one = await files.get(file, ['gzip'])
    const two = await files.get(file, ['gzip'])
    expect(one!.data).not.toBe(two!.data)
    expect(one!.data.equals(two!.data)).toBe(true)
  })
})

describe('acceptedEncodings', () => {
  it('orders br and gzip by q-value, br first on a tie', () => {
    expect(acceptedEncodings('gzip, deflate, br')).toEqual(['br', 'gzip'])
    expect(acceptedEncodings('gzip;q=1, br;q=0.5')).toEqual(['gzip', 'br'])
    expect(acceptedEncodings('br;q=0, gzip')).toEqual(['gzip'])
    expect(acceptedEncodings('*')).toEqual(['br', 'gzip'])
    expect(acceptedEncodings('*;q=0, gzip')).toEqual(['gzip'])
    expect(acceptedEncodings('identity')).toEqual([])
    expect(acceptedEncodings(undefined)).toEqual([])
    expect(acceptedEncodings('GZIP ; Q=0.8')).toEqual(['gzip'])
  })
})
