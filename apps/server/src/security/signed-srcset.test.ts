import { makeJpeg } from '@darkroom/core/testing'
import { DEFAULT_SIGNED_WIDTHS, signSrcset } from '@darkroom/http'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, uploadForm, type TestServer } from '../testing/harness.js'

/**
 * `photos.signUrls` (issue 16 §2): a srcset of a PRIVATE photo that an `<img>` without
 * credentials can load, every rung under one signature, and each signed part (photo, ladder,
 * format, expiry) refused when tampered with, sent as raw requests to the real server.
 */

const REST = '/api/darkroom/v1'
const SECRET = 'signed-srcset-test-secret-0123456789abcdef'
const auth = (key: string) => ({ authorization: `Bearer ${key}` })

let server: TestServer
let aliceKey: string
let bobKey: string
let privateId: string
let otherId: string
let publicId: string

interface SignedUrls {
  src: string
  srcset: string
  sizes?: string
  widths: number[]
  width: number | null
  height: number | null
  expiresAt: string
}

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${path}`, { headers })
  const body = Buffer.from(await res.arrayBuffer())
  const json = (res.headers.get('content-type') ?? '').startsWith('application/json')
  return {
    status: res.status,
    headers: res.headers,
    body,
    json: json ? (JSON.parse(body.toString()) as Record<string, any>) : null,
  }
}

async function signUrls(key: string, id: string, query = '') {
  return get(`${REST}/photos/${id}/signed-urls${query ? `?${query}` : ''}`, auth(key))
}

/** `url 640w, url 750w` → [[url, 640], ...]. */
function candidates(srcset: string): [string, number][] {
  return srcset.split(', ').map((entry) => {
    const [url, descriptor] = entry.split(' ')
    return [url!, Number(descriptor!.replace(/w$/, ''))]
  })
}

beforeAll(async () => {
  server = await startServer({ env: { SIGNING_SECRET: SECRET } })
  aliceKey = await server.key('alice')
  bobKey = await server.key('bob')
  const { uploaded } = await server.client(aliceKey).photos.upload.mutate(
    uploadForm([
      { name: 'private.jpg', data: await makeJpeg({ width: 1500, height: 1000, seed: 1601 }) },
      { name: 'other.jpg', data: await makeJpeg({ width: 1500, height: 1000, seed: 1602 }) },
      { name: 'public.jpg', data: await makeJpeg({ width: 800, height: 600, seed: 1603 }) },
    ]),
  )
  ;[privateId, otherId, publicId] = uploaded.map((p) => p.id) as [string, string, string]
  await server.client(aliceKey).photos.update.mutate({ id: publicId, isPublic: true })
})
afterAll(() => server.close())

describe('photos.signUrls: a private srcset', () => {
  it('the REST twin answers a full srcset, and every rung loads without credentials at its width', async () => {
    const { status, json } = await signUrls(aliceKey, privateId, 'format=jpg&sizes=100vw')
    expect(status).toBe(200)
    const signed = json as SignedUrls
    // The default ladder up to the photo's 1500 px, then 1500 itself: never upscaled.
    const below = DEFAULT_SIGNED_WIDTHS.filter((w) => w <= 1500)
    expect(signed.widths).toEqual([...below, 1500])
    expect([signed.width, signed.height, signed.sizes]).toEqual([1500, 1000, '100vw'])
    const rungs = candidates(signed.srcset)
    expect(rungs.map(([, w]) => w)).toEqual(signed.widths)
    expect(signed.src).toBe(rungs.at(-1)![0])
    // One signature for every rung.
    const sigs = new Set(rungs.map(([url]) => new URL(url, server.url).searchParams.get('sig')))
    expect(sigs.size).toBe(1)

    for (const [url, width] of rungs) {
      const res = await get(url)
      expect(res.status, url).toBe(200)
      expect(res.headers.get('cache-control')).toMatch(/^private, max-age=\d+/)
      const meta = await sharp(res.body).metadata()
      expect([meta.format, meta.width]).toEqual(['jpeg', width])
    }
  })

  it('tRPC answers the same; `auto` follows Accept, and the AVIF caps still apply', async () => {
    const signed = await server.client(aliceKey).photos.signUrls.query({ id: privateId })
    const [url640] = candidates(signed.srcset).find(([, w]) => w === 640)!
    expect(url640).toMatch(
      new RegExp(`^/image/${privateId}\\.auto\\?w=640&l=[\\d.]+&exp=\\d+&sig=[0-9a-f]{64}$`),
    )
    const avif = await get(url640, { accept: 'image/avif,image/webp,*/*' })
    expect(avif.status).toBe(200)
    expect(avif.headers.get('vary')).toBe('Accept')
    expect((await sharp(avif.body).metadata()).format).toBe('heif')
    const jpeg = await get(url640)
    expect((await sharp(jpeg.body).metadata()).format).toBe('jpeg')

    // An explicit AVIF ladder stops at the AVIF cap (2560) on a photo larger than it.
    const { uploaded } = await server
      .client(aliceKey)
      .photos.upload.mutate(
        uploadForm([
          { name: 'big.jpg', data: await makeJpeg({ width: 3000, height: 1500, seed: 1604 }) },
        ]),
      )
    const big = await server
      .client(aliceKey)
      .photos.signUrls.query({ id: uploaded[0]!.id, format: 'avif', widths: [640, 2048, 3840] })
    expect(big.widths).toEqual([640, 2048, 2560])
  })

  it('refuses a rung with any signed part tampered with, and an expired one', async () => {
    const { json } = await signUrls(aliceKey, privateId, 'format=jpg')
    const [url] = candidates((json as SignedUrls).srcset).find(([, w]) => w === 640)!
    const ok = await get(url)
    expect(ok.status).toBe(200)
    const u = new URL(url, server.url)
    const q = u.searchParams
    const ladder = q.get('l')!
    const withQuery = (changes: Record<string, string>, path = u.pathname) => {
      const next = new URLSearchParams(q)
      for (const [k, v] of Object.entries(changes)) next.set(k, v)
      return `${path}?${next.toString()}`
    }
    const tampered: Record<string, string> = {
      'a width not in the ladder': withQuery({ w: '700' }),
      'the ladder edited to hold that width': withQuery({
        w: '700',
        l: ladder.replace('640', '640.700'),
      }),
      'a rung dropped from the ladder': withQuery({ l: ladder.replace('750.', '') }),
      'another photo of the same owner': withQuery({}, `/image/${otherId}.jpg`),
      'a later expiry': withQuery({ exp: String(Number(q.get('exp')) + 86_400) }),
      'another format': withQuery({}, `/image/${privateId}.webp`),
      'auto instead of jpg': withQuery({}, `/image/${privateId}.auto`),
      'an unsigned height': withQuery({ h: '100' }),
      'an unsigned quality': withQuery({ q: '95' }),
    }
    for (const [what, path] of Object.entries(tampered)) {
      const res = await get(path)
      expect([what, res.status, res.json?.error?.code]).toEqual([what, 403, 'FORBIDDEN'])
    }
    const rungRefusal = await get(tampered['a width not in the ladder']!)
    expect(rungRefusal.json!.error.message).toMatch(
      /signed for the widths 16, 32, .*"w" must be one of them/,
    )

    // A ladder the server signed, expired a second ago.
    const expired = signSrcset(
      SECRET,
      `/image/${privateId}.jpg`,
      [320, 640],
      new Date(Date.now() - 1000),
    )
    const stale = await get(candidates(expired.srcset)[0]![0])
    expect([stale.status, stale.json!.error.message]).toEqual([403, 'The signed URL has expired.'])

    // Without its signature, a private photo is a 404 like a missing one.
    const unsigned = await get(`${u.pathname}?w=640`)
    expect(unsigned.status).toBe(404)
  })

  it('another owner cannot mint for my photo: 404 for a private one, 403 for a public one', async () => {
    const foreign = await signUrls(bobKey, privateId)
    expect([foreign.status, foreign.json!.error.code]).toEqual([404, 'NOT_FOUND'])
    const missing = await signUrls(bobKey, 'no-such-photo')
    expect(foreign.json!.error.message).toBe(
      missing.json!.error.message.replace('no-such-photo', privateId),
    )
    await expect(
      server.client(bobKey).photos.signUrls.query({ id: privateId }),
    ).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } })

    const publicOne = await signUrls(bobKey, publicId)
    expect([publicOne.status, publicOne.json!.error.code]).toEqual([403, 'FORBIDDEN'])
    expect(publicOne.json!.error.message).toMatch(/Only the owner .* can sign its URLs/)

    const anonymous = await get(`${REST}/photos/${privateId}/signed-urls`)
    expect(anonymous.status).toBe(401)
    const writeOnly = await server.key('alice', ['photos.write'])
    expect((await signUrls(writeOnly, privateId)).status).toBe(403)
  })

  it('validates widths against the ladder and the expiry against its bounds', async () => {
    const outside = await signUrls(aliceKey, privateId, 'widths=96&widths=100')
    expect(outside.status).toBe(422)
    expect(outside.json!.error.violations).toEqual([
      {
        property: 'widths',
        message: expect.stringMatching(/^100 is not in the signed widths \(16, 32/),
      },
    ])
    const tooLong = await signUrls(aliceKey, privateId, 'expiresInSeconds=9999999')
    expect(tooLong.status).toBe(422)
    const some = await signUrls(aliceKey, privateId, 'widths=256&widths=96&expiresInSeconds=600')
    expect(some.status).toBe(200)
    const signed = some.json as SignedUrls
    expect(signed.widths).toEqual([96, 256])
    const ttl = Date.parse(signed.expiresAt) - Date.now()
    // Rounded up to the next 5 minutes.
    expect(ttl).toBeGreaterThan(590_000)
    expect(ttl).toBeLessThanOrEqual(900_000)
  })

  it('a rung stops working when its photo is deleted', async () => {
    const { uploaded } = await server
      .client(aliceKey)
      .photos.upload.mutate(
        uploadForm([
          { name: 'gone.jpg', data: await makeJpeg({ width: 400, height: 300, seed: 1605 }) },
        ]),
      )
    const id = uploaded[0]!.id
    const signed = await server.client(aliceKey).photos.signUrls.query({ id, format: 'webp' })
    expect(signed.widths).toEqual([16, 32, 48, 64, 96, 128, 256, 384, 400])
    const [url] = candidates(signed.srcset)[0]!
    expect((await get(url)).status).toBe(200)
    await server.client(aliceKey).photos.delete.mutate({ id, hard: true })
    expect((await get(url)).status).toBe(404)
  })
})
