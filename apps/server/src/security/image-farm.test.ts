import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { makeJpeg } from '@darkroom/core/testing'
import { signUrl } from '@darkroom/http'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeNoiseJpeg, startServer, uploadForm, type TestServer } from '../testing/harness.js'

/**
 * `/image` as a free CPU and disk farm (issue 15 #2), sent the way an attacker would: anonymous
 * requests on a public photo for the expensive shapes (PNG with `q`, AVIF at 4000 px, every
 * size, crop and quality), a sweep of distinct keys against the disk cache, clients that go
 * away while their renders wait, and a render flood while someone uploads.
 */

const auth = (key: string) => ({ authorization: `Bearer ${key}` })

async function get(server: TestServer, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${path}`, { headers })
  const body = Buffer.from(await res.arrayBuffer())
  let message = ''
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) {
    message = (JSON.parse(body.toString()) as { error: { message: string } }).error.message
  }
  return { status: res.status, headers: res.headers, body, message }
}

/** Files (renditions) in the disk cache, of one photo or of all. */
async function cacheFiles(dataDir: string, photoId?: string): Promise<string[]> {
  const root = join(dataDir, 'cache')
  const folders = photoId
    ? [photoId]
    : (await readdir(root).catch(() => [])).filter((f) => !f.startsWith('.'))
  const files: string[] = []
  for (const folder of folders) {
    for (const name of await readdir(join(root, folder)).catch(() => [])) {
      files.push(join(root, folder, name))
    }
  }
  return files
}

async function cacheBytes(dataDir: string): Promise<number> {
  let total = 0
  for (const file of await cacheFiles(dataDir)) total += (await stat(file)).size
  return total
}

async function upload(server: TestServer, key: string, name: string, data: Buffer) {
  const { uploaded } = await server.client(key).photos.upload.mutate(uploadForm([{ name, data }]))
  return uploaded[0]!.id
}

describe('anonymous requests get a small fixed set of renditions', () => {
  let server: TestServer
  let aliceKey: string
  let publicId: string
  beforeAll(async () => {
    server = await startServer({ env: { RATE_LIMIT_UPLOADS_PER_MINUTE: '0' } })
    aliceKey = await server.key('alice')
    publicId = await upload(
      server,
      aliceKey,
      'big.jpg',
      await makeJpeg({ width: 3200, height: 2400, seed: 1501 }),
    )
    await server.client(aliceKey).photos.update.mutate({ id: publicId, isPublic: true })
  })
  afterAll(() => server.close())

  it('refuses q (PNG palette quantisation, any quality) without a signature, naming it', async () => {
    for (const query of ['w=2560&q=50', 'q=80', 'w=640&h=640&crop=1&q=5']) {
      const res = await get(server, `/image/${publicId}.png?${query}`)
      expect(res.status, query).toBe(400)
      expect(res.message).toMatch(/"q".*sign/)
    }
  })

  it('caps an anonymous AVIF at 4000 px to the top of the ladder (2560 px)', async () => {
    const res = await get(server, `/image/${publicId}.avif?w=4000`)
    expect(res.status).toBe(200)
    const meta = await sharp(res.body).metadata()
    expect([meta.format, meta.width, meta.height]).toEqual(['heif', 2560, 1920])
  })

  it('snaps sizes up to the ladder: crop and size combinations share a few renditions', async () => {
    const id = await upload(
      server,
      aliceKey,
      'sweep.jpg',
      await makeJpeg({ width: 800, height: 600 }),
    )
    await server.client(aliceKey).photos.update.mutate({ id, isPublic: true })
    for (let w = 10; w <= 500; w += 10) {
      for (const query of [`w=${w}`, `w=${w}&h=${w}&crop=true`, `w=${w}&crop=true`]) {
        const res = await get(server, `/image/${id}.jpg?${query}`)
        expect(res.status, query).toBe(200)
      }
    }
    // 150 distinct queries; widths 10-500 snap to 100, 160, 200, 300, 320, 400, 480, 600:
    // 8 plain (crop alone changes nothing) and 8 square crops.
    await expect.poll(async () => (await cacheFiles(server.dataDir, id)).length).toBe(16)

    const cropped = await get(server, `/image/${publicId}.jpg?w=333&h=222&crop=true`)
    const meta = await sharp(cropped.body).metadata()
    expect([meta.width, meta.height]).toEqual([400, 300])
  }, 120_000)

  it('still gives the owner and signed URLs what they ask for, within the caps', async () => {
    const owner = await get(server, `/image/${publicId}.png?w=333&q=50`, auth(aliceKey))
    expect(owner.status).toBe(200)
    expect((await sharp(owner.body).metadata()).width).toBe(336)
    const url = signUrl(
      server.app.signingSecret,
      `/image/${publicId}.webp`,
      { w: 333, h: 222, crop: true, q: 37 },
      new Date(Date.now() + 60_000),
    )
    const signed = await get(server, url)
    expect(signed.status).toBe(200)
    const meta = await sharp(signed.body).metadata()
    expect([meta.width, meta.height]).toEqual([333, 222])
    // AVIF stays within 2560 px whoever asks.
    const avif = await get(server, `/image/${publicId}.avif?w=4096`, auth(aliceKey))
    expect((await sharp(avif.body).metadata()).width).toBe(2560)
  }, 60_000)
})

describe('the disk cache keeps to its byte budget', () => {
  it('many distinct renditions never take more than IMAGE_CACHE_MAX_MB, across a restart', async () => {
    let server = await startServer({
      env: { IMAGE_CACHE_MAX_MB: '1', RATE_LIMIT_UPLOADS_PER_MINUTE: '0' },
    })
    try {
      const key = await server.key('carol')
      const id = await upload(server, key, 'n.jpg', await makeNoiseJpeg(1200, 900, 9))
      let written = 0
      // PNGs of noise: about 0.1-1 MB each, 2 MB or more in all.
      for (let w = 320; w <= 800; w += 32) {
        const res = await get(server, `/image/${id}.png?w=${w}`, auth(key))
        expect(res.status).toBe(200)
        written += res.body.length
      }
      expect(written).toBeGreaterThan(2 * 1024 * 1024)
      await expect.poll(() => cacheBytes(server.dataDir)).toBeLessThanOrEqual(1024 * 1024)
      const kept = await cacheFiles(server.dataDir, id)
      expect(kept.length).toBeGreaterThan(0)

      // A restart reads the folder back, so the budget holds for what it writes next.
      server = await server.restart()
      for (let w = 336; w <= 560; w += 32) {
        expect((await get(server, `/image/${id}.png?w=${w}`, auth(key))).status).toBe(200)
      }
      await expect.poll(() => cacheBytes(server.dataDir)).toBeLessThanOrEqual(1024 * 1024)
    } finally {
      await server.close()
    }
  }, 120_000)
})

describe('renders have their own bounded limiter', () => {
  let server: TestServer
  let key: string
  let bigId: string
  let smallId: string
  beforeAll(async () => {
    server = await startServer({
      env: { IMAGE_CONCURRENCY: '1', IMAGE_QUEUE: '32', RATE_LIMIT_UPLOADS_PER_MINUTE: '0' },
    })
    key = await server.key('dave')
    bigId = await upload(server, key, 'big.jpg', await makeNoiseJpeg(4000, 3000, 21))
    smallId = await upload(server, key, 'small.jpg', await makeNoiseJpeg(640, 480, 22))
  }, 120_000)
  afterAll(() => server.close())

  const renders = () => server.app.darkroom.stats().renders

  it('renders a burst of 20 identical misses once', async () => {
    const before = renders().started
    const results = await Promise.all(
      Array.from({ length: 20 }, () => get(server, `/image/${smallId}.webp?w=300`, auth(key))),
    )
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200))
    expect(new Set(results.map((r) => r.body.toString('base64'))).size).toBe(1)
    expect(renders().started - before).toBe(1)
  })

  it('never starts the render of a client that has gone', async () => {
    // One slow render holds the only slot ...
    const startedBefore = renders().started
    const slow = get(server, `/image/${bigId}.avif?w=2560`, auth(key))
    await expect.poll(() => renders().started, { timeout: 10_000 }).toBe(startedBefore + 1)
    // ... while six other renditions are asked for and their clients go away.
    const gone = Array.from({ length: 6 }, (_, i) => {
      const controller = new AbortController()
      const done = fetch(`${server.url}/image/${smallId}.jpg?w=${64 + i * 16}`, {
        headers: auth(key),
        signal: controller.signal,
      }).catch(() => null)
      return { controller, done }
    })
    await new Promise((resolve) => setTimeout(resolve, 300))
    for (const g of gone) g.controller.abort()
    await Promise.all(gone.map((g) => g.done))
    expect((await slow).status).toBe(200)
    // A request after them waits for everything queued before it (one slot, in order).
    expect((await get(server, `/image/${smallId}.jpg?w=48`, auth(key))).status).toBe(200)
    expect(renders().started - startedBefore).toBe(2) // the slow one and the last one
    // The burst's WebP and the last JPEG; none of the six.
    await expect.poll(async () => (await cacheFiles(server.dataDir, smallId)).length).toBe(2)
  }, 120_000)

  it('lets an upload through while renders are saturated', async () => {
    const flood = Array.from({ length: 12 }, (_, i) =>
      get(server, `/image/${bigId}.webp?w=${1600 + i * 16}`, auth(key)),
    )
    await expect.poll(() => renders().active, { timeout: 10_000 }).toBe(1)
    // The ingest limiter is not the renders': it has every slot free during the flood.
    expect(server.app.darkroom.stats().cpu.active).toBe(0)
    let floodDone = false
    const settled = Promise.all(flood).then((results) => {
      floodDone = true
      return results
    })
    const id = await upload(server, key, 'during.jpg', await makeJpeg({ width: 1200, height: 900 }))
    expect(id).toBeTruthy()
    expect(floodDone).toBe(false)
    const results = await settled
    for (const r of results) expect([200, 503]).toContain(r.status)
  }, 180_000)
})
