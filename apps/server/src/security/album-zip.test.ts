import { randomBytes, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeJpeg } from '@darkroom/core/testing'
import { createFsBlobStore, createSqliteStore } from '@darkroom/storage'
import { createApiKey } from '@darkroom/trpc'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import yauzl from 'yauzl'
import { makeClient, startServer, uploadForm, type TestServer } from '../testing/harness.js'
import { startServerProcess, type ServerProcess } from '../testing/processes.js'

/**
 * `GET /albums/{id}.zip`: an album as one streamed zip, through the real server. The bytes
 * unpack (yauzl, CRCs checked) to exactly the originals under safe unique names; others get
 * the public photos only and a private album is a 404; `Range` resumes to identical bytes;
 * downloads are counted once per whole archive; and the server's RSS stays flat while a
 * large album streams (`ZIP_RSS_MB=2000` makes that album 2 GB).
 */

interface Unzipped {
  name: string
  data: Buffer
}

function unzip(zip: Buffer): Promise<Unzipped[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true, validateEntrySizes: true }, (error, file) => {
      if (error || !file) return reject(error)
      const out: Unzipped[] = []
      file.on('error', reject)
      file.on('end', () => resolve(out))
      file.on('entry', (entry: yauzl.Entry) => {
        file.openReadStream(entry, (err, stream) => {
          if (err || !stream) return reject(err)
          const chunks: Buffer[] = []
          stream.on('data', (c: Buffer) => chunks.push(c))
          stream.on('error', reject)
          stream.on('end', () => {
            out.push({ name: entry.fileName, data: Buffer.concat(chunks) })
            file.readEntry()
          })
        })
      })
      file.readEntry()
    })
  })
}

describe('album zip', () => {
  let server: TestServer
  let aliceKey: string
  let bobKey: string
  let albumId: string
  let privateAlbumId: string
  const originals = new Map<string, { name: string; data: Buffer }>()
  let hiddenId: string
  let publicIds: string[]

  beforeAll(async () => {
    server = await startServer()
    aliceKey = await server.key('alice')
    bobKey = await server.key('bob')
    const alice = server.client(aliceKey)
    const album = await alice.albums.create.mutate({ title: 'Wedding «2026»' })
    albumId = album.id
    const names = ['IMG_1.jpg', 'img_1.JPG', 'IMG_1.jpg', 'a:b?.jpg', 'CON.jpg', 'hidden.jpg']
    const files = await Promise.all(
      names.map(async (name, i) => ({
        name,
        data: await makeJpeg({ width: 80, height: 60, seed: i }),
      })),
    )
    // One at a time, so the album's order is the upload order.
    const ids: string[] = []
    for (const file of files) {
      const { uploaded } = await alice.photos.upload.mutate(uploadForm([file], { albumId }))
      ids.push(uploaded[0]!.id)
      originals.set(uploaded[0]!.id, file)
    }
    hiddenId = ids[5]!
    await alice.photos.update.mutate({ id: hiddenId, hidden: true })
    publicIds = [ids[0]!, ids[3]!]
    for (const id of publicIds) await alice.photos.update.mutate({ id, isPublic: true })
    const other = await alice.albums.create.mutate({ title: 'Private' })
    privateAlbumId = other.id
    await alice.photos.upload.mutate(
      uploadForm([{ name: 'p.jpg', data: await makeJpeg({ seed: 9 }) }], {
        albumId: privateAlbumId,
      }),
    )
  })
  afterAll(() => server?.close())

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { headers })
  const bearer = (key: string) => ({ Authorization: `Bearer ${key}` })

  it("unzips to the owner's exact original bytes under safe, unique names, hidden photos left out", async () => {
    const response = await get(`/albums/${albumId}.zip`, bearer(aliceKey))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/zip')
    expect(response.headers.get('accept-ranges')).toBe('bytes')
    expect(response.headers.get('content-disposition')).toContain(
      "filename*=UTF-8''Wedding%20%C2%AB2026%C2%BB.zip",
    )
    const zip = Buffer.from(await response.arrayBuffer())
    expect(Number(response.headers.get('content-length'))).toBe(zip.length)
    const entries = await unzip(zip)
    expect(entries.map((e) => e.name)).toEqual([
      'IMG_1.jpg',
      'img_1 (2).jpg',
      'IMG_1 (3).jpg',
      'a_b_.jpg',
      '_CON.jpg',
    ])
    const expected = [...originals.entries()].filter(([id]) => id !== hiddenId)
    expect(entries.map((e) => e.data.equals(expected[entries.indexOf(e)]![1].data))).toEqual(
      expected.map(() => true),
    )
  })

  it('gives anyone else the public photos only, and a private album is a 404 like a missing one', async () => {
    for (const headers of [{}, bearer(bobKey)]) {
      const response = await get(`/albums/${albumId}.zip`, headers)
      expect(response.status).toBe(200)
      const entries = await unzip(Buffer.from(await response.arrayBuffer()))
      expect(entries.map((e) => e.data)).toEqual(publicIds.map((id) => originals.get(id)!.data))
      const missing = await get(`/albums/${randomUUID()}.zip`, headers)
      const hidden = await get(`/albums/${privateAlbumId}.zip`, headers)
      expect(missing.status).toBe(404)
      expect(hidden.status).toBe(404)
      const message = async (r: Response) =>
        ((await r.json()) as { error: { message: string } }).error.message
      expect(await message(hidden)).toBe(
        (await message(missing)).replace(/"[^"]+"/, `"${privateAlbumId}"`),
      )
    }
    const writeOnly = await server.key('alice', ['photos.write'])
    expect((await get(`/albums/${albumId}.zip`, bearer(writeOnly))).status).toBe(403)
    expect((await get(`/albums/${albumId}.zip?size=huge`, bearer(aliceKey))).status).toBe(422)
  })

  it('resumes by Range (If-Range) to identical bytes, and counts one download per whole archive', async () => {
    const alice = server.client(aliceKey)
    const before = await alice.photos.get.query({ id: publicIds[0]! })
    const full = await get(`/albums/${albumId}.zip`, bearer(aliceKey))
    const etag = full.headers.get('etag')!
    const whole = Buffer.from(await full.arrayBuffer())
    for (const offset of [1, 100, Math.floor(whole.length / 2), whole.length - 10]) {
      const rest = await get(`/albums/${albumId}.zip`, {
        ...bearer(aliceKey),
        Range: `bytes=${offset}-`,
        'If-Range': etag,
      })
      expect(rest.status).toBe(206)
      expect(rest.headers.get('content-range')).toBe(
        `bytes ${offset}-${whole.length - 1}/${whole.length}`,
      )
      const tail = Buffer.from(await rest.arrayBuffer())
      expect(Buffer.concat([whole.subarray(0, offset), tail]).equals(whole)).toBe(true)
    }
    const middle = await get(`/albums/${albumId}.zip`, {
      ...bearer(aliceKey),
      Range: 'bytes=50-99',
    })
    expect(Buffer.from(await middle.arrayBuffer()).equals(whole.subarray(50, 100))).toBe(true)
    const stale = await get(`/albums/${albumId}.zip`, {
      ...bearer(aliceKey),
      Range: 'bytes=100-',
      'If-Range': '"zip-other"',
    })
    expect(stale.status).toBe(200)
    await stale.arrayBuffer()
    // Two whole archives (the full GET, the stale If-Range): two downloads; the ranges none.
    const after = await alice.photos.get.query({ id: publicIds[0]! })
    expect(after.downloads - before.downloads).toBe(2)
  })

  it('cuts the answer short, never a complete-looking archive, when a blob is gone', async () => {
    const alice = server.client(aliceKey)
    const broken = await alice.albums.create.mutate({ title: 'Broken' })
    const ids: string[] = []
    for (const seed of [20, 21]) {
      const data = await makeJpeg({ width: 2000, height: 1500, seed })
      const form = uploadForm([{ name: `b${seed}.jpg`, data }], { albumId: broken.id })
      ids.push((await alice.photos.upload.mutate(form)).uploaded[0]!.id)
    }
    await createFsBlobStore({ root: join(server.dataDir, 'blobs') }).delete(
      `photos/${ids[1]}/original`,
    )
    const response = await get(`/albums/${broken.id}.zip`, bearer(aliceKey))
    expect(response.status).toBe(200)
    const length = Number(response.headers.get('content-length'))
    let received = 0
    await expect(
      (async () => {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          received += chunk.byteLength
        }
      })(),
    ).rejects.toThrow()
    expect(received).toBeLessThan(length)
  })

  it('serves a stored size with its own extension and bytes', async () => {
    const response = await get(`/albums/${albumId}.zip?size=small`, bearer(aliceKey))
    const entries = await unzip(Buffer.from(await response.arrayBuffer()))
    expect(entries[0]!.name).toBe('IMG_1.webp')
    const id = [...originals.keys()][0]!
    const small = await get(`/photos/${id}/small.webp`, bearer(aliceKey))
    expect(entries[0]!.data.equals(Buffer.from(await small.arrayBuffer()))).toBe(true)
  })
})

/**
 * A separate server process, its album seeded straight into its database and blob folder
 * (incompressible random bytes, `ZIP_RSS_MB` in all, 10 MB a photo; default 300 MB), then
 * downloaded whole while the process's RSS is sampled from /proc.
 */
describe('album zip memory', () => {
  const totalMb = Number(process.env.ZIP_RSS_MB ?? 300)
  const photoMb = 10
  let dir: string
  let server: ServerProcess
  let key: string
  let albumId: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'darkroom-zip-'))
    const dataDir = join(dir, 'data')
    server = await startServerProcess({ DATA_DIR: dataDir })
    const store = createSqliteStore({ filename: join(dataDir, 'darkroom.db') })
    ;({ key } = await createApiKey(store.server, {
      ownerId: 'alice',
      name: 'zip',
      scopes: ['photos.read', 'photos.write'],
    }))
    const alice = makeClient(server.url, key)
    albumId = (await alice.albums.create.mutate({ title: 'Large' })).id
    const { uploaded } = await alice.photos.upload.mutate(
      uploadForm([{ name: 'template.jpg', data: await makeJpeg({ seed: 1 }) }], { albumId }),
    )
    const template = (await store.getPhoto(uploaded[0]!.id))!
    await alice.photos.delete.mutate({ id: template.id, hard: true })
    const blobs = createFsBlobStore({ root: join(dataDir, 'blobs') })
    const bytes = randomBytes(photoMb * 1024 * 1024)
    for (let i = 0; i < totalMb / photoMb; i++) {
      const id = `${template.id.slice(0, 24)}${String(i).padStart(12, '0')}`
      bytes.writeUInt32BE(i, 0) // each photo its own bytes
      await blobs.put(`photos/${id}/original`, bytes)
      await store.insertPhoto({
        ...template,
        id,
        filename: `IMG_${i}.jpg`,
        checksum: randomBytes(32).toString('hex'),
        originalKey: `photos/${id}/original`,
        size: bytes.length,
        variants: [],
      })
    }
    await store.close()
  }, 300_000)
  afterAll(async () => {
    await server?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  function rssMb(): number {
    const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024
  }

  it(`streams a ${totalMb} MB album with the server's RSS flat (growth < 100 MB)`, async () => {
    // Warm up the route (modules, the first statements) before the baseline.
    const small = await fetch(`${server.url}/albums/${randomUUID()}.zip`)
    await small.arrayBuffer()
    const baseline = rssMb()
    let peak = baseline
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 25)
    const started = performance.now()
    const response = await fetch(`${server.url}/albums/${albumId}.zip`, {
      headers: { Authorization: `Bearer ${key}` },
    })
    expect(response.status).toBe(200)
    let received = 0
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      received += chunk.byteLength
    }
    const seconds = (performance.now() - started) / 1000
    clearInterval(sampler)
    expect(received).toBe(Number(response.headers.get('content-length')))
    expect(received).toBeGreaterThan(totalMb * 1024 * 1024)
    const growth = peak - baseline
    console.log(
      `album zip: ${(received / 2 ** 20).toFixed(0)} MB in ${seconds.toFixed(1)} s ` +
        `(${(received / 2 ** 20 / seconds).toFixed(0)} MB/s), server RSS ${baseline.toFixed(0)} → ` +
        `peak ${peak.toFixed(0)} MB (growth ${growth.toFixed(1)} MB)`,
    )
    expect(growth).toBeLessThan(100)
  }, 600_000)

  it('streams at most 4 archives at once: one more is a 503 with Retry-After, read nothing', async () => {
    const open = () =>
      fetch(`${server.url}/albums/${albumId}.zip`, { headers: { Authorization: `Bearer ${key}` } })
    // Four downloads whose clients read nothing: each holds its stream (300 MB each stay behind).
    const held = await Promise.all([open(), open(), open(), open()])
    expect(held.map((r) => r.status)).toEqual([200, 200, 200, 200])
    const refused = await open()
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('5')
    expect(await refused.json()).toMatchObject({
      error: { message: expect.stringMatching(/4 album downloads are under way/) },
    })
    // A client that gives up frees its place.
    await held[0]!.body!.cancel()
    await expect.poll(async () => (await open().then(keep)).status, { timeout: 10_000 }).toBe(200)
    await Promise.all([...held.slice(1), ...kept].map((r) => r.body?.cancel()))
  }, 120_000)
})

const kept: Response[] = []
/** Keeps a response to cancel later (a 200 holds its stream until then); returns it. */
function keep(response: Response): Response {
  if (response.status === 200) kept.push(response)
  else void response.body?.cancel()
  return response
}
