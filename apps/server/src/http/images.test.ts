import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { asPhoto, makeJpeg } from '@darkroom/core/testing'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  makeNoiseJpeg,
  readStoredOriginal,
  startServer,
  uploadForm,
  type TestServer,
} from '../testing/harness.js'
import { signUrl } from '@darkroom/http'
import { CORPUS_MISSING, loadCorpus } from '../../../../packages/core/src/testing/corpus.js'

/** /image and /photos over HTTP: sizes, crops, cache, validators, ranges, signatures, access. */

let server: TestServer
let aliceKey: string
let bobKey: string
let privateId: string
let publicId: string
const auth = (key: string) => ({ authorization: `Bearer ${key}` })

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${path}`, { headers })
  return { res, body: Buffer.from(await res.arrayBuffer()) }
}

beforeAll(async () => {
  server = await startServer()
  aliceKey = await server.key('alice')
  bobKey = await server.key('bob')
  const alice = server.client(aliceKey)
  const { uploaded } = await alice.photos.upload.mutate(
    uploadForm([
      { name: 'private.jpg', data: await makeJpeg({ width: 640, height: 480, seed: 301 }) },
      { name: 'public.jpg', data: await makeJpeg({ width: 800, height: 400, seed: 302 }) },
    ]),
  )
  privateId = uploaded[0]!.id
  publicId = uploaded[1]!.id
  await alice.photos.update.mutate({ id: publicId, isPublic: true })
})
afterAll(() => server.close())

describe('GET /image/{id}.{ext}', () => {
  it('resizes and crops; a second request is a cache hit; If-None-Match gives 304', async () => {
    const first = await get(`/image/${privateId}.jpg?w=160`, auth(aliceKey))
    expect(first.res.status).toBe(200)
    expect(first.res.headers.get('content-type')).toBe('image/jpeg')
    expect(first.res.headers.get('x-cache')).toBe('MISS')
    expect(first.res.headers.get('cache-control')).toMatch(/^private/)
    const meta = await sharp(first.body).metadata()
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 160, 120])

    const second = await get(`/image/${privateId}.jpg?w=160`, auth(aliceKey))
    expect(second.res.headers.get('x-cache')).toBe('HIT')
    expect(second.body.equals(first.body)).toBe(true)
    const etag = first.res.headers.get('etag')!
    expect(second.res.headers.get('etag')).toBe(etag)

    const revalidated = await get(`/image/${privateId}.jpg?w=160`, {
      ...auth(aliceKey),
      'If-None-Match': etag,
    })
    expect(revalidated.res.status).toBe(304)
    expect(revalidated.body.length).toBe(0)

    const crop = await get(`/image/${privateId}.webp?w=96&h=96&crop=true`, auth(aliceKey))
    const cropped = await sharp(crop.body).metadata()
    expect([cropped.format, cropped.width, cropped.height]).toEqual(['webp', 96, 96])

    const png = await get(`/image/${privateId}.png?h=64`, auth(aliceKey))
    const pngMeta = await sharp(png.body).metadata()
    expect([pngMeta.format, pngMeta.width, pngMeta.height]).toEqual(['png', 85, 64])
  })

  it('serves byte ranges (206) and refuses unsatisfiable ones (416)', async () => {
    const whole = await get(`/image/${publicId}.jpg?w=320`)
    const part = await get(`/image/${publicId}.jpg?w=320`, { Range: 'bytes=0-99' })
    expect(part.res.status).toBe(206)
    expect(part.res.headers.get('content-range')).toBe(`bytes 0-99/${whole.body.length}`)
    expect(part.body.equals(whole.body.subarray(0, 100))).toBe(true)
    const tail = await get(`/image/${publicId}.jpg?w=320`, { Range: 'bytes=-10' })
    expect(tail.body.equals(whole.body.subarray(whole.body.length - 10))).toBe(true)
    const beyond = await get(`/image/${publicId}.jpg?w=320`, {
      Range: `bytes=${whole.body.length}-`,
    })
    expect(beyond.res.status).toBe(416)
  })

  it('snaps unsigned sizes (up the public ladder, or to steps for the owner); canonical queries share one cache entry', async () => {
    const snapped = await get(`/image/${publicId}.jpg?w=101`)
    expect((await sharp(snapped.body).metadata()).width).toBe(160)
    const same = await get(`/image/${publicId}.jpg?w=160&unknown=1`)
    expect(same.res.headers.get('x-cache')).toBe('HIT')
    expect(same.res.headers.get('etag')).toBe(snapped.res.headers.get('etag'))
    const own = await get(`/image/${publicId}.jpg?w=101`, auth(aliceKey))
    expect((await sharp(own.body).metadata()).width).toBe(112)
    const bad = await get(`/image/${publicId}.jpg?w=abc`)
    expect(bad.res.status).toBe(400)
    const tooBig = await get(`/image/${publicId}.jpg?w=5000`)
    expect(tooBig.res.status).toBe(400)
  })

  it('negotiates the format of .auto from Accept, with Vary: Accept', async () => {
    const avif = await get(`/image/${publicId}.auto?w=64`, { Accept: 'image/avif,image/webp,*/*' })
    expect(avif.res.headers.get('content-type')).toBe('image/avif')
    expect(avif.res.headers.get('vary')).toBe('Accept')
    const webp = await get(`/image/${publicId}.auto?w=64`, { Accept: 'image/webp,*/*' })
    expect(webp.res.headers.get('content-type')).toBe('image/webp')
    const jpeg = await get(`/image/${publicId}.auto?w=64`, { Accept: 'text/html' })
    expect(jpeg.res.headers.get('content-type')).toBe('image/jpeg')
    expect(new Set([avif, webp, jpeg].map((r) => r.res.headers.get('etag'))).size).toBe(3)
  })

  it('needs the owner or a valid signature for a private photo', async () => {
    expect((await get(`/image/${privateId}.jpg?w=64`)).res.status).toBe(404)
    expect((await get(`/image/${privateId}.jpg?w=64`, auth(bobKey))).res.status).toBe(404)
    expect((await get(`/image/${publicId}.jpg?w=64`)).res.status).toBe(200)
    expect((await get(`/image/${publicId}.jpg?w=64`)).res.headers.get('cache-control')).toMatch(
      /^public/,
    )

    const secret = server.app.signingSecret
    const inAMinute = new Date(Date.now() + 60_000)
    const signed = signUrl(
      secret,
      `/image/${privateId}.jpg`,
      { w: 101, h: 77, crop: true },
      inAMinute,
    )
    const ok = await get(signed)
    expect(ok.res.status).toBe(200)
    const meta = await sharp(ok.body).metadata()
    expect([meta.width, meta.height]).toEqual([101, 77])

    const tampered = signed.replace('w=101', 'w=102')
    expect((await get(tampered)).res.status).toBe(403)
    const forged = signed.replace(/sig=[0-9a-f]{4}/, 'sig=0000')
    expect((await get(forged)).res.status).toBe(403)
    const expired = signUrl(
      secret,
      `/image/${privateId}.jpg`,
      { w: 64 },
      new Date(Date.now() - 1000),
    )
    expect((await get(expired)).res.status).toBe(403)
    const otherPhoto = signed.replace(privateId, publicId)
    expect((await get(otherPhoto)).res.status).toBe(403)
  })

  it('stops serving a cached rendition at once when its photo turns private or is trashed', async () => {
    const alice = server.client(aliceKey)
    const { uploaded } = await alice.photos.upload.mutate(
      uploadForm([{ name: 'soon-private.jpg', data: await makeJpeg({ width: 400, height: 300 }) }]),
    )
    const id = uploaded[0]!.id
    await alice.photos.update.mutate({ id, isPublic: true })
    // 160: on the public ladder and a step of the owner's, so both share the entry.
    const path = `/image/${id}.jpg?w=160`
    expect((await get(path)).res.headers.get('x-cache')).toBe('MISS')
    const hit = await get(path)
    expect(hit.res.headers.get('x-cache')).toBe('HIT')
    const etag = hit.res.headers.get('etag')!

    await alice.photos.update.mutate({ id, isPublic: false })
    expect((await get(path)).res.status).toBe(404)
    expect((await get(path, { 'If-None-Match': etag })).res.status).toBe(404)
    const own = await get(path, auth(aliceKey))
    expect([own.res.status, own.res.headers.get('x-cache')]).toEqual([200, 'HIT'])

    await alice.photos.delete.mutate({ id })
    expect((await get(path, auth(aliceKey))).res.status).toBe(404)
  })

  it('answers 503 when too many transforms wait', async () => {
    const busy = await startServer({ env: { IMAGE_CONCURRENCY: '1', IMAGE_QUEUE: '1' } })
    try {
      const key = await busy.key('dave')
      const { uploaded } = await busy
        .client(key)
        .photos.upload.mutate(
          uploadForm([{ name: 'n.jpg', data: await makeNoiseJpeg(1200, 900, 3) }]),
        )
      const id = uploaded[0]!.id
      const widths = [208, 224, 240, 256, 272, 288, 304, 320]
      const statuses = await Promise.all(
        widths.map(async (w) => {
          const res = await fetch(`${busy.url}/image/${id}.avif?w=${w}`, { headers: auth(key) })
          await res.arrayBuffer()
          return { status: res.status, retryAfter: res.headers.get('retry-after') }
        }),
      )
      expect(statuses.filter((s) => s.status === 200).length).toBeGreaterThanOrEqual(2)
      const refused = statuses.filter((s) => s.status === 503)
      expect(refused.length).toBeGreaterThan(0)
      expect(refused[0]!.retryAfter).toBe('1')
    } finally {
      await busy.close()
    }
  })
})

describe('GET /photos/{id}/{variant}.{ext}', () => {
  it('serves variants immutable, originals counted, ranges and 304', async () => {
    const alice = server.client(aliceKey)
    const photo = await alice.photos.get.query({ id: privateId })
    const small = new URL(photo.variants.small!, server.url).pathname
    expect(small).toBe(`/photos/${privateId}/small.webp`)
    const variant = await get(small, auth(aliceKey))
    expect(variant.res.status).toBe(200)
    expect(variant.res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable')
    expect((await sharp(variant.body).metadata()).width).toBe(320)
    const notModified = await get(small, {
      ...auth(aliceKey),
      'If-None-Match': variant.res.headers.get('etag')!,
    })
    expect(notModified.res.status).toBe(304)
    expect((await get(small)).res.status).toBe(404)
    expect((await get(small, auth(bobKey))).res.status).toBe(404)

    const publicSmall = await get(`/photos/${publicId}/small.webp`)
    expect(publicSmall.res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')

    const originalPath = new URL(photo.variants.original, server.url).pathname
    const original = await get(originalPath, auth(aliceKey))
    const onDisk = await readStoredOriginal(server.dataDir, privateId)
    expect(original.body.equals(onDisk)).toBe(true)
    const ranged = await get(originalPath, { ...auth(aliceKey), Range: 'bytes=10-19' })
    expect(ranged.res.status).toBe(206)
    expect(ranged.body.equals(onDisk.subarray(10, 20))).toBe(true)
    const after = await alice.photos.get.query({ id: privateId })
    expect(after.downloads).toBe(photo.downloads + 1)

    const signed = signUrl(server.app.signingSecret, small, {}, new Date(Date.now() + 60_000))
    expect((await get(signed)).res.status).toBe(200)
    expect((await get(`/photos/${privateId}/nope.webp`, auth(aliceKey))).res.status).toBe(404)
  })
})

describe('downloads and extensions of /photos/{id}/{variant}.{ext}', () => {
  it('counts a download only for a whole original: not HEAD, 304, a partial range or a variant', async () => {
    const alice = server.client(aliceKey)
    const { uploaded } = await alice.photos.upload.mutate(
      uploadForm([{ name: 'd.jpg', data: await makeJpeg({ width: 300, height: 200, seed: 311 }) }]),
    )
    const id = uploaded[0]!.id
    const path = `/photos/${id}/original.jpg`
    const downloads = async () => (await alice.photos.get.query({ id })).downloads
    const size = asPhoto(uploaded[0]!).size

    const head = await fetch(`${server.url}${path}`, { method: 'HEAD', headers: auth(aliceKey) })
    expect(head.status).toBe(200)
    const first = await get(path, { ...auth(aliceKey), Range: 'bytes=0-99' })
    expect([first.res.status, first.body.length]).toEqual([206, 100])
    const later = await get(path, { ...auth(aliceKey), Range: 'bytes=100-' })
    expect(later.res.status).toBe(206)
    const etag = first.res.headers.get('etag')!
    const revalidated = await get(path, { ...auth(aliceKey), 'If-None-Match': etag })
    expect(revalidated.res.status).toBe(304)
    const small = await get(`/photos/${id}/small.webp`, auth(aliceKey))
    expect(small.res.status).toBe(200)
    // A transform is a rendition made on the fly, not the stored original: never a download.
    expect((await get(`/image/${id}.jpg?w=64`, auth(aliceKey))).res.status).toBe(200)
    const part = await get(`/image/${id}.jpg?w=64`, { ...auth(aliceKey), Range: 'bytes=0-' })
    expect(part.res.status).toBe(206)
    expect(await downloads()).toBe(0)

    // The whole file: a plain GET, or a range from byte 0 to the end (how players start).
    const whole = await get(path, auth(aliceKey))
    expect([whole.res.status, whole.body.length]).toEqual([200, size])
    const open = await get(path, { ...auth(aliceKey), Range: 'bytes=0-' })
    expect([open.res.status, open.body.length]).toEqual([206, size])
    const exact = await get(path, { ...auth(aliceKey), Range: `bytes=0-${size - 1}` })
    expect(exact.res.status).toBe(206)
    expect(await downloads()).toBe(3)
  })

  it('answers 404 naming the right extension when it does not match the stored format', async () => {
    const photo = await server.client(aliceKey).photos.get.query({ id: privateId })
    expect(new URL(photo.variants.original, server.url).pathname).toBe(
      `/photos/${privateId}/original.jpg`,
    )
    for (const [path, right] of [
      [`/photos/${privateId}/original.png`, 'original is image/jpeg: use .jpg'],
      [`/photos/${privateId}/original.webp`, 'original is image/jpeg: use .jpg'],
      [`/photos/${privateId}/small.jpg`, 'small is image/webp: use .webp'],
    ] as const) {
      const { res, body } = await get(path, auth(aliceKey))
      expect(res.status, path).toBe(404)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      const error = JSON.parse(body.toString()).error
      expect(error).toMatchObject({ code: 'NOT_FOUND' })
      expect(error.message).toContain(right)
      const head = await fetch(`${server.url}${path}`, { method: 'HEAD', headers: auth(aliceKey) })
      expect(head.status).toBe(404)
    }
    const before = (await server.client(aliceKey).photos.get.query({ id: privateId })).downloads
    await get(`/photos/${privateId}/original.png`, auth(aliceKey))
    expect((await server.client(aliceKey).photos.get.query({ id: privateId })).downloads).toBe(
      before,
    )
    // The other spelling of the same format is the same file.
    const jpeg = await get(`/photos/${privateId}/original.jpeg`, auth(aliceKey))
    expect(jpeg.res.status).toBe(200)
    // Someone else's photo says nothing about its format.
    const foreign = await get(`/photos/${privateId}/original.png`, auth(bobKey))
    expect(foreign.res.status).toBe(404)
    expect(foreign.body.toString()).not.toContain('image/jpeg')
  })
})

describe('corpus photos', () => {
  const corpus = loadCorpus()
  it.skipIf(!corpus)(
    corpus ? 'keeps the displayed orientation through /image' : CORPUS_MISSING,
    async () => {
      const pick = [
        'exif-orientation-examples/Landscape_6.jpg',
        'exif-orientation-examples/Portrait_8.jpg',
      ]
      const alice = server.client(aliceKey)
      for (const path of pick) {
        const entry = corpus!.entries.find((e) => e.path === path)!
        const data = await readFile(join(corpus!.dir, path))
        const { uploaded } = await alice.photos.upload.mutate(uploadForm([{ name: path, data }]))
        const photo = asPhoto(uploaded[0]!)
        expect([photo.width, photo.height]).toEqual([entry.displayWidth, entry.displayHeight])
        const { body } = await get(`/image/${photo.id}.jpg?w=320`, auth(aliceKey))
        const meta = await sharp(body).metadata()
        expect(meta.width).toBe(320)
        expect(meta.height).toBe(Math.round((320 * entry.displayHeight!) / entry.displayWidth!))
      }
    },
  )
})
