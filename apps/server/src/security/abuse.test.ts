import * as crypto from 'node:crypto'
import { request } from 'node:http'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Clock } from '@darkroom/core'
import { makeJpeg } from '@darkroom/core/testing'
import { hashApiKey } from '@darkroom/trpc'
import { TRPCClientError } from '@trpc/client'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ConfigError, loadConfig } from '../config.js'
import { signUrl, type ImageParams } from '@darkroom/http'
import { makeNoiseJpeg, startServer, uploadForm, type TestServer } from '../testing/harness.js'

/**
 * Abuse of the serving and upload surface: signed image URLs that are tampered with, expired or
 * replayed for another rendition; transforms pushed towards unbounded CPU; upload floods (per-key
 * rate limits with a clear 429); and how API keys are kept (hashed) and compared (in constant
 * time).
 */

// Pass-through, so that the tests can see that secrets are compared with timingSafeEqual.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>()
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) }
})

let server: TestServer
let aliceKey: string
let bobKey: string
let photoId: string
let otherPhotoId: string
const auth = (key: string) => ({ authorization: `Bearer ${key}` })

beforeAll(async () => {
  server = await startServer({ env: { RATE_LIMIT_UPLOADS_PER_MINUTE: '0' } })
  aliceKey = await server.key('alice')
  bobKey = await server.key('bob')
  const { uploaded } = await server.client(aliceKey).photos.upload.mutate(
    uploadForm([
      { name: 'private.jpg', data: await makeJpeg({ width: 640, height: 480, seed: 701 }) },
      { name: 'other.jpg', data: await makeJpeg({ width: 320, height: 240, seed: 702 }) },
    ]),
  )
  photoId = uploaded[0]!.id
  otherPhotoId = uploaded[1]!.id
})
afterAll(() => server.close())

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${path}`, { headers })
  const body = Buffer.from(await res.arrayBuffer())
  let message = ''
  try {
    message = (JSON.parse(body.toString()) as { error: { message: string } }).error.message
  } catch {
    // an image
  }
  return { status: res.status, headers: res.headers, body, message }
}

const inAnHour = () => new Date(Date.now() + 3_600_000)

// ---------------------------------------------------------------- signed URLs

interface SignedCase {
  name: string
  url: () => string
  status: number
  message?: RegExp
}

/** Replaces the value of `key` in a URL's query (keeping the signature). */
function withParam(url: string, key: string, value: string): string {
  const u = new URL(url, 'http://x')
  u.searchParams.set(key, value)
  return `${u.pathname}?${u.searchParams.toString()}`
}

/** Replaces a signed URL's `sig` with what `change` makes of it. */
function withSig(url: string, change: (sig: string) => string): string {
  return withParam(url, 'sig', change(new URL(url, 'http://x').searchParams.get('sig')!))
}

/** `path` signed with the server's secret, valid for an hour unless `expires` says otherwise. */
function signed(path: string, params: ImageParams = {}, expires = inAnHour()): string {
  return signUrl(server.app.signingSecret, path, params, expires)
}

/** What most cases tamper with: a valid signed URL of alice's photo as a 100-px WebP. */
const signedImage = (params: ImageParams = { w: 100 }) => signed(`/image/${photoId}.webp`, params)

const SIGNED_CASES: SignedCase[] = [
  { name: 'a valid signature', url: () => signedImage(), status: 200 },
  {
    name: 'a valid signature with an unknown parameter added (ignored)',
    url: () => signedImage() + '&utm=1',
    status: 200,
  },
  {
    name: 'one hex digit of the signature changed',
    url: () => withSig(signedImage(), (sig) => (sig[0] === '0' ? '1' : '0') + sig.slice(1)),
    status: 403,
    message: /does not match/,
  },
  {
    name: 'a signature truncated',
    url: () => withSig(signedImage(), (sig) => sig.slice(0, 40)),
    status: 403,
    message: /malformed/,
  },
  {
    name: 'a signature in upper case',
    url: () => withSig(signedImage(), (sig) => sig.toUpperCase()),
    status: 403,
    message: /malformed/,
  },
  {
    name: 'signed with another secret',
    url: () => signUrl('x'.repeat(32), `/image/${photoId}.webp`, { w: 100 }, inAnHour()),
    status: 403,
    message: /does not match/,
  },
  {
    name: 'expired a second ago',
    url: () => signed(`/image/${photoId}.webp`, { w: 100 }, new Date(Date.now() - 1000)),
    status: 403,
    message: /expired/,
  },
  {
    name: 'its expiry pushed forward',
    url: () =>
      withParam(signedImage(), 'exp', String(Math.floor(Date.now() / 1000) + 86_400 * 365)),
    status: 403,
    message: /does not match/,
  },
  {
    name: 'replayed for another width',
    url: () => withParam(signedImage(), 'w', '2000'),
    status: 403,
    message: /does not match/,
  },
  {
    name: 'replayed with a height added',
    url: () => signedImage() + '&h=90',
    status: 403,
    message: /does not match/,
  },
  {
    name: 'replayed with crop added',
    url: () => signedImage() + '&crop=1',
    status: 403,
    message: /does not match/,
  },
  {
    name: 'replayed for another quality',
    url: () => withParam(signedImage({ w: 100, q: 40 }), 'q', '100'),
    status: 403,
    message: /does not match/,
  },
  {
    name: 'replayed for another format',
    url: () => signedImage().replace('.webp', '.png'),
    status: 403,
    message: /does not match/,
  },
  {
    name: 'replayed for another photo',
    url: () => signedImage().replace(photoId, otherPhotoId),
    status: 403,
    message: /does not match/,
  },
  {
    name: 'an /image signature replayed on the original',
    url: () => signedImage({}).replace(`/image/${photoId}.webp`, `/photos/${photoId}/original.jpg`),
    status: 403,
    message: /does not match/,
  },
  {
    name: 'a signed original',
    url: () => signed(`/photos/${photoId}/original.jpg`),
    status: 200,
  },
  {
    name: 'a signed original replayed for the small variant',
    url: () => signed(`/photos/${photoId}/original.jpg`).replace('original.jpg', 'small.webp'),
    status: 403,
    message: /does not match/,
  },
  {
    name: 'an expiry that is not a number',
    url: () => withParam(signedImage(), 'exp', '1e20'),
    status: 403,
    message: /malformed/,
  },
]

describe('signed image URLs', () => {
  it.each(SIGNED_CASES)('$name: $status', async (c) => {
    // No credentials: the signature is all there is.
    const res = await get(c.url())
    expect(res.status, res.body.toString().slice(0, 200)).toBe(c.status)
    if (c.message) expect(res.message).toMatch(c.message)
    if (c.status === 200) {
      expect(res.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/)
      expect(
        Number(/max-age=(\d+)/.exec(res.headers.get('cache-control')!)![1]),
      ).toBeLessThanOrEqual(3600)
    }
  })

  it('a signed URL stops working when its photo is deleted', async () => {
    const { uploaded } = await server
      .client(aliceKey)
      .photos.upload.mutate(uploadForm([{ name: 'gone.jpg', data: await makeJpeg({ seed: 703 }) }]))
    const id = uploaded[0]!.id
    const url = signed(`/image/${id}.webp`, { w: 64 })
    expect((await get(url)).status).toBe(200)
    await server.client(aliceKey).photos.delete.mutate({ id, hard: true })
    expect((await get(url)).status).toBe(404)
  })

  it('signatures are compared in constant time', async () => {
    const spy = vi.mocked(crypto.timingSafeEqual)
    spy.mockClear()
    const url = signedImage({ w: 120 })
    expect((await get(withParam(url, 'sig', '0'.repeat(64)))).status).toBe(403)
    expect(spy).toHaveBeenCalled()
  })
})

// ---------------------------------------------------------------- transforms

describe('the transform endpoint is bounded', () => {
  it.each([
    ['w=5000', /"w" parameter must be from 1 to 4096/],
    ['h=4097', /"h" parameter must be from 1 to 4096/],
    ['w=0', /"w" parameter must be from 1/],
    ['w=-1', /"w" parameter must be a whole number/],
    ['w=1e9', /"w" parameter must be a whole number/],
    ['w=99999999999999999999', /"w" parameter must be a whole number/],
    ['w=abc', /"w" parameter must be a whole number/],
    ['q=0', /"q" parameter must be from 1 to 100/],
    ['q=101', /"q" parameter must be from 1 to 100/],
    ['crop=maybe', /"crop" parameter must be true or false/],
  ])('refuses %s with 400', async (query, message) => {
    const res = await get(`/image/${photoId}.webp?${query}`, auth(aliceKey))
    expect(res.status).toBe(400)
    expect(res.message).toMatch(message)
  })

  it('never upscales: w=4096 of a 640-px photo is 640 px', async () => {
    const res = await get(`/image/${photoId}.png?w=4096&h=4096`, auth(aliceKey))
    expect(res.status).toBe(200)
    const meta = await sharp(res.body).metadata()
    expect([meta.width, meta.height]).toEqual([640, 480])
  })

  it('unsigned sizes are snapped: 300 widths make at most 25 renditions', async () => {
    const before = await cacheEntries(photoId)
    for (let w = 1; w <= 300; w++) {
      const res = await fetch(`${server.url}/image/${photoId}.jpg?w=${w}`, {
        headers: auth(aliceKey),
      })
      expect(res.status).toBe(200)
      await res.arrayBuffer()
    }
    const made = (await cacheEntries(photoId)) - before
    expect(made).toBeGreaterThan(5)
    expect(made).toBeLessThanOrEqual(25)
  }, 60_000)

  it('a flood of distinct transforms gets 503 + Retry-After past the queue, then recovers', async () => {
    const busy = await startServer({
      env: { IMAGE_CONCURRENCY: '1', IMAGE_QUEUE: '2', RATE_LIMIT_UPLOADS_PER_MINUTE: '0' },
    })
    try {
      const key = await busy.key('dave')
      const { uploaded } = await busy
        .client(key)
        .photos.upload.mutate(
          uploadForm([{ name: 'n.jpg', data: await makeNoiseJpeg(1600, 1200, 5) }]),
        )
      const id = uploaded[0]!.id
      const widths = Array.from({ length: 24 }, (_, i) => 400 + i * 16)
      const results = await Promise.all(
        widths.map(async (w) => {
          const res = await fetch(`${busy.url}/image/${id}.avif?w=${w}`, { headers: auth(key) })
          await res.arrayBuffer()
          return { status: res.status, retryAfter: res.headers.get('retry-after') }
        }),
      )
      const ok = results.filter((r) => r.status === 200).length
      const refused = results.filter((r) => r.status === 503)
      expect(ok + refused.length).toBe(widths.length)
      // One running and two waiting at a time: most of a burst of 24 is turned away at once.
      expect(ok).toBeGreaterThanOrEqual(3)
      expect(refused.length).toBeGreaterThanOrEqual(12)
      for (const r of refused) expect(r.retryAfter).toBe('1')
      const after = await fetch(`${busy.url}/image/${id}.avif?w=${widths[23]}`, {
        headers: auth(key),
      })
      expect(after.status).toBe(200)
      expect((await fetch(`${busy.url}/healthz`)).status).toBe(200)
    } finally {
      await busy.close()
    }
  }, 60_000)
})

async function cacheEntries(id: string): Promise<number> {
  return (await readdir(join(server.dataDir, 'cache', id)).catch(() => [])).filter(
    (f) => !f.startsWith('.'),
  ).length
}

// ---------------------------------------------------------------- rate limits

class StepClock implements Clock {
  t = Date.now()
  now() {
    return new Date(this.t)
  }
}

function tusCreate(
  url: string,
  key: string | null,
  localAddress?: string,
): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url)
    const req = request(
      {
        host: hostname,
        port,
        path: '/files',
        method: 'POST',
        ...(localAddress ? { localAddress } : {}),
        headers: {
          'Tus-Resumable': '1.0.0',
          'Upload-Length': '1000',
          'Upload-Metadata': `filename ${Buffer.from('r.jpg').toString('base64')}`,
          ...(key ? auth(key) : {}),
        },
      },
      (res) => {
        let body = ''
        res.on('data', (chunk: Buffer) => (body += chunk.toString()))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'] as string | undefined,
            body,
          }),
        )
      },
    )
    req.on('error', reject)
    req.end()
  })
}

describe('upload rate limits, per owner (per IP for guests)', () => {
  let limited: TestServer
  const clock = new StepClock()

  beforeAll(async () => {
    limited = await startServer({
      env: { RATE_LIMIT_UPLOADS_PER_MINUTE: '3', GUEST_UPLOADS: 'true' },
      compose: { clock },
    })
  })
  afterAll(() => limited.close())

  it('the fourth upload in a minute is a 429 with Retry-After, by tRPC and by tus', async () => {
    const key = await limited.key('erin')
    const secondKey = await limited.key('erin')
    const client = limited.client(key)
    const upload = async (c = client, seed = 0) =>
      c.photos.upload.mutate(uploadForm([{ name: 'r.jpg', data: await makeJpeg({ seed }) }]))
    await upload(client, 801)
    await upload(client, 802)
    expect((await tusCreate(limited.url, key)).status).toBe(201)

    // A second key of the same owner shares the bucket.
    const error = await upload(limited.client(secondKey), 803).then(
      () => null,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(TRPCClientError)
    const e = error as TRPCClientError<any>
    expect(e.data).toMatchObject({ code: 'TOO_MANY_REQUESTS', httpStatus: 429 })
    expect(e.message).toMatch(/Too many uploads: at most 3 a minute\. Retry in \d+ s\./)

    const raw = await fetch(`${limited.url}/trpc/photos.upload`, {
      method: 'POST',
      headers: auth(key),
      body: uploadForm([{ name: 'r.jpg', data: await makeJpeg({ seed: 804 }) }]),
    })
    expect(raw.status).toBe(429)
    expect(Number(raw.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(Number(raw.headers.get('retry-after'))).toBeLessThanOrEqual(20)
    await raw.arrayBuffer()

    const tus = await tusCreate(limited.url, key)
    expect(tus.status).toBe(429)
    expect(Number(tus.retryAfter)).toBeGreaterThanOrEqual(1)
    expect(JSON.parse(tus.body)).toMatchObject({
      error: { code: 'RATE_LIMITED', message: expect.stringMatching(/Too many uploads/) },
    })

    // Reads are not limited; another owner has its own bucket.
    expect((await client.photos.list.query({})).total).toBe(2)
    await upload(limited.client(await limited.key('frank')), 805)

    // A token comes back every 20 s (3 a minute).
    clock.t += 20_000
    await upload(client, 806)
    expect((await tusCreate(limited.url, key)).status).toBe(429)
  })

  it('guests are limited per client address', async () => {
    const from = (address: string) => tusCreate(limited.url, null, address)
    for (let i = 0; i < 3; i++) expect((await from('127.0.0.2')).status).toBe(201)
    const refused = await from('127.0.0.2')
    expect(refused.status).toBe(429)
    expect(JSON.parse(refused.body).error.code).toBe('RATE_LIMITED')
    // Another address is another bucket.
    expect((await from('127.0.0.3')).status).toBe(201)
  })

  it('600 a minute by default; a bad value stops the start, named', () => {
    expect(loadConfig({ DATA_DIR: '/tmp/x' }).rateLimit.uploadsPerMinute).toBe(600)
    expect(() => loadConfig({ RATE_LIMIT_UPLOADS_PER_MINUTE: '-1' })).toThrow(ConfigError)
    expect(() => loadConfig({ RATE_LIMIT_UPLOADS_PER_MINUTE: 'lots' })).toThrow(
      /RATE_LIMIT_UPLOADS_PER_MINUTE/,
    )
  })
})

// ---------------------------------------------------------------- keys at rest

describe('API keys', () => {
  it('are stored hashed: the database files never hold a key, only its sha256', async () => {
    const created = await server
      .client(aliceKey)
      .keys.create.mutate({ name: 'at rest', scopes: ['photos.read'] })
    await server.client(created.key).photos.list.query({})
    const files = (await readdir(server.dataDir)).filter((f) => f.startsWith('darkroom.db'))
    expect(files.length).toBeGreaterThan(0)
    const bytes = Buffer.concat(
      await Promise.all(files.map((f) => readFile(join(server.dataDir, f)))),
    )
    for (const key of [created.key, aliceKey, bobKey]) {
      expect(bytes.includes(Buffer.from(key))).toBe(false)
      expect(bytes.includes(Buffer.from(key.slice(3)))).toBe(false)
    }
    expect(bytes.includes(Buffer.from(hashApiKey(created.key)))).toBe(true)
  })

  it('are compared in constant time', async () => {
    const spy = vi.mocked(crypto.timingSafeEqual)
    spy.mockClear()
    expect((await server.client(bobKey).albums.list.query()).length).toBe(0)
    expect(spy).toHaveBeenCalled()
  })
})
