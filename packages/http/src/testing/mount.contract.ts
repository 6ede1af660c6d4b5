import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createDarkroom, isPhotoReceipt, type Caller, type Darkroom } from '@darkroom/core'
import { createFsBlobStore, createSqliteStore } from '@darkroom/storage'
import { createApiKey, type AppRouter, type Authenticate } from '@darkroom/trpc'
import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  isNonJsonSerializable,
  splitLink,
  TRPCClientError,
  type TRPCClient,
} from '@trpc/client'
import sharp from 'sharp'
import * as tus from 'tus-js-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DarkroomHandlerOptions } from '../handler.js'

/**
 * One HTTP contract for every way of mounting the handler in an app (Express, Fastify, Hono,
 * a Next.js route handler, node:http): real servers on 127.0.0.1:0, real clients
 * (`@trpc/client`, `tus-js-client`, fetch, node:http), a real engine over SQLite and a folder.
 *
 * What a mount must do: build the handler from `handlerOptions` (basePath `/media`), serve it
 * under `/media` in its framework, answer `GET /hello` with the text `hello` from its own
 * route, and leave every other path to the framework (its own 404).
 */

export interface MountStartOptions {
  handlerOptions: DarkroomHandlerOptions
}

export interface Mounted {
  /** The app's origin, `http://127.0.0.1:<port>`; Darkroom answers under `${url}/media`. */
  url: string
  /** Stops the server and the handler (not the engine, which the suite owns). */
  close(): Promise<void>
}

/**
 * A mount served by a node:http `server` (the framework's listener): listens on 127.0.0.1:0;
 * `close` cuts its connections, stops it and closes the handler.
 */
export async function listenMounted(
  server: Server,
  handler: { close(): Promise<void> },
): Promise<Mounted> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await handler.close()
    },
  }
}

export interface MountContractOptions {
  /** The framework, for test names and the printed RSS figure. */
  name: string
  start(options: MountStartOptions): Promise<Mounted>
}

const BASE_PATH = '/media'
const MiB = 1024 * 1024
const TUS = { 'Tus-Resumable': '1.0.0' }
const ALICE: Caller = { ownerId: 'alice', scopes: ['photos.read', 'photos.write'] }

/**
 * The app's own sign-in, standing in for a verified session or JWT: `x-user: <name>` is that
 * user. Darkroom's API keys are checked before it.
 */
const appAuthenticate: Authenticate = async ({ headers }) => {
  const user = headers.get('x-user')
  return user ? { ownerId: user, scopes: ['photos.read', 'photos.write'] } : null
}

export function describeMountContract(options: MountContractOptions): void {
  describe(`mount contract: ${options.name}`, () => {
    let dir: string
    let darkroom: Darkroom
    let handlerOptions: DarkroomHandlerOptions
    let mounted: Mounted
    /** `<origin>/media` */
    let media: string
    let aliceKey: string
    let bearer: Record<string, string>

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'darkroom-mount-'))
      const store = createSqliteStore({ filename: join(dir, 'darkroom.db') })
      darkroom = await createDarkroom({
        store,
        blobs: createFsBlobStore({ root: join(dir, 'blobs') }),
        // Room for the 64 MiB upload of the streaming case (the default limit is 50 MiB).
        config: { limits: { maxFileBytes: 128 * MiB } },
      })
      handlerOptions = {
        darkroom,
        serverStore: store.server,
        signingSecret: randomBytes(32).toString('hex'),
        dataDir: dir,
        basePath: BASE_PATH,
        authenticate: appAuthenticate,
      }
      mounted = await options.start({ handlerOptions })
      media = `${mounted.url}${BASE_PATH}`
      aliceKey = (
        await createApiKey(store.server, {
          ownerId: ALICE.ownerId,
          name: 'mount contract',
          scopes: ['photos.read', 'photos.write'],
        })
      ).key
      bearer = { authorization: `Bearer ${aliceKey}` }
    })

    afterAll(async () => {
      await mounted?.close()
      await darkroom?.close()
      if (dir) await rm(dir, { recursive: true, force: true })
    })

    /** A photo of alice's stored through the engine: a JPEG with its own bytes. */
    async function storePhoto(width = 1200, height = 800): Promise<{ id: string; data: Buffer }> {
      const data = await makeJpeg(width, height)
      const { uploaded } = await darkroom.photos.upload(ALICE, {
        files: [{ filename: 'stored.jpg', data }],
      })
      const id = uploaded[0]?.id
      if (!id) throw new Error('the engine did not store the test photo')
      return { id, data }
    }

    function trpcClient(
      headers: Record<string, string>,
      requests: { method: string; url: string }[] = [],
    ): TRPCClient<AppRouter> {
      const url = `${media}/trpc`
      const recording = (input: string | URL | Request, init?: RequestInit) => {
        requests.push({ method: init?.method ?? 'GET', url: String(input) })
        return fetch(input, init)
      }
      return createTRPCClient<AppRouter>({
        links: [
          splitLink({
            // FormData (photos.upload) goes alone through httpLink; the rest is batched.
            condition: (op) => isNonJsonSerializable(op.input),
            true: httpLink({ url, headers, fetch: recording }),
            false: httpBatchLink({ url, headers, fetch: recording }),
          }),
        ],
      })
    }

    it('answers GET /media/healthz with 200', async () => {
      const response = await fetch(`${media}/healthz`)
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await response.json()).toEqual({ ok: true, checks: { database: 'ok', blobs: 'ok' } })
    })

    it('leaves paths outside /media to the app: its own route, and its own 404', async () => {
      const hello = await fetch(`${mounted.url}/hello`)
      expect(hello.status).toBe(200)
      expect(await hello.text()).toBe('hello')
      for (const path of ['/nowhere', '/mediax/healthz', '/healthz', '/trpc/photos.list']) {
        const response = await fetch(`${mounted.url}${path}`, { headers: bearer })
        expect(response.status, path).toBe(404)
        // Not Darkroom's answer: its 404 body is `{"error":{"code":"NOT_FOUND",...}}`.
        expect(await response.text(), path).not.toContain('"code":"NOT_FOUND"')
      }
    })

    it('answers unknown paths under each of its prefixes with a JSON 404, whatever the method', async () => {
      const procedure = await fetch(`${media}/trpc/nothing.here`, { headers: bearer })
      expect(procedure.status).toBe(404)
      expect(procedure.headers.get('content-type')).toMatch(/^application\/json/)
      const trpcError = (await procedure.json()) as { error: { data: { code: string } } }
      expect(trpcError.error.data.code).toBe('NOT_FOUND')

      const paths = [
        '/trpc',
        '/trpc/nothing.here',
        '/trpc/photos/list',
        '/api',
        '/api/v1/photos',
        '/files/a/b',
        '/image/not-an-image-url',
        `/image/${randomUUID()}.gif`,
        '/photos/nothing',
        '/photos/a/b/c/d.jpg',
        '/healthz/x',
        '/session/x',
      ]
      for (const path of paths) {
        // Every method Darkroom's routes take (a Next route module exports no PUT: Next's 405).
        for (const method of ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS']) {
          const response = await fetch(`${media}${path}`, { method, headers: bearer })
          const what = `${method} ${path}`
          expect(response.status, what).toBe(404)
          expect(response.headers.get('content-type'), what).toMatch(/^application\/json/)
          if (method === 'HEAD') continue
          const body = (await response.json()) as {
            error: { code: string | number; data?: { code: string } }
          }
          // tRPC's own error shape under /trpc (what its clients decode), Darkroom's elsewhere.
          const code = path.startsWith('/trpc') ? body.error.data?.code : body.error.code
          expect(code, what).toBe('NOT_FOUND')
        }
      }
      // An upload is created at /files only; its URL takes HEAD, PATCH and DELETE.
      const misplaced = await fetch(`${media}/files/${randomUUID().replaceAll('-', '')}`, {
        method: 'POST',
        headers: { ...bearer, ...TUS, 'Upload-Length': '10' },
      })
      expect(misplaced.status).toBe(404)
      expect(((await misplaced.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND')
      const missing = await fetch(`${media}/image/${randomUUID()}.jpg?w=100`, { headers: bearer })
      expect(missing.status).toBe(404)
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND')
    })

    it('batches tRPC calls with httpBatchLink: two mutations in one request, two queries in one', async () => {
      const requests: { method: string; url: string }[] = []
      const trpc = trpcClient(bearer, requests)
      const [first, second] = await Promise.all([
        trpc.albums.create.mutate({ title: 'Batched one' }),
        trpc.albums.create.mutate({ title: 'Batched two' }),
      ])
      expect(requests).toHaveLength(1)
      expect(requests[0]!.method).toBe('POST')
      expect(requests[0]!.url).toContain('/media/trpc/albums.create,albums.create?batch=1')

      requests.length = 0
      const [albums, photos] = await Promise.all([
        trpc.albums.list.query(),
        trpc.photos.list.query({ albumId: first.id }),
      ])
      expect(requests).toHaveLength(1)
      expect(requests[0]!.method).toBe('GET')
      expect(requests[0]!.url).toContain('/media/trpc/albums.list,photos.list?batch=1')
      expect(albums.map((album) => album.id)).toEqual(expect.arrayContaining([first.id, second.id]))
      expect(photos).toMatchObject({ items: [], total: 0 })
    })

    it('takes photos.upload as FormData through a splitLink (httpLink, not batched)', async () => {
      const requests: { method: string; url: string }[] = []
      const trpc = trpcClient(bearer, requests)
      const album = await trpc.albums.create.mutate({ title: 'Form uploads' })
      const data = await makeJpeg(640, 480)
      const form = new FormData()
      form.append('files', new File([new Uint8Array(data)], 'form.jpg', { type: 'image/jpeg' }))
      form.append('albumId', album.id)

      requests.length = 0
      const result = await trpc.photos.upload.mutate(form)
      expect(requests).toEqual([{ method: 'POST', url: `${media}/trpc/photos.upload` }])
      expect(result.skipped).toEqual([])
      const photo = result.uploaded[0]!
      if (isPhotoReceipt(photo)) throw new Error('a key with photos.read got a receipt')
      expect(photo).toMatchObject({ albumId: album.id, width: 640, height: 480 })
      expect(photo.checksum).toBe(sha256(data))
      expect((await darkroom.photos.get(ALICE, { id: photo.id })).checksum).toBe(sha256(data))
    })

    it('tus: takes an upload that is interrupted, resumed from the server offset, and finished', async () => {
      const data = await makeNoiseJpeg(640, 480)
      const chunkSize = 128 * 1024
      expect(data.byteLength).toBeGreaterThan(2 * chunkSize)
      const base: tus.UploadOptions = {
        endpoint: `${media}/files`,
        headers: bearer,
        chunkSize,
        retryDelays: [],
        storeFingerprintForResuming: false,
        metadata: { filename: 'resumed.jpg' },
      }

      // 1. The first chunk, then the client stops.
      let first!: tus.Upload
      await new Promise<void>((resolve, reject) => {
        first = new tus.Upload(data, {
          ...base,
          onChunkComplete: () => void first.abort().then(resolve, reject),
          onError: reject,
        })
        first.start()
      })
      const uploadUrl = first.url
      expect(uploadUrl).toMatch(new RegExp(`^${escapeRegExp(media)}/files/[A-Za-z0-9_-]+$`))

      // 2. The server kept what it acknowledged, and says so.
      const head = await fetch(uploadUrl!, { method: 'HEAD', headers: { ...TUS, ...bearer } })
      expect(head.status).toBe(200)
      expect(head.headers.get('upload-offset')).toBe(String(chunkSize))
      expect(head.headers.get('upload-length')).toBe(String(data.byteLength))

      // 3. A new client resumes from that offset and finishes.
      const patchOffsets: string[] = []
      const outcome = await new Promise<{ photoId: string | undefined; status: number }>(
        (resolve, reject) => {
          const resumed = new tus.Upload(data, {
            ...base,
            uploadUrl,
            onBeforeRequest: (req) => {
              if (req.getMethod() === 'PATCH') {
                patchOffsets.push(req.getHeader('Upload-Offset') ?? '')
              }
            },
            onSuccess: ({ lastResponse }) =>
              resolve({
                photoId: lastResponse.getHeader('Darkroom-Photo-Id'),
                status: lastResponse.getStatus(),
              }),
            onError: reject,
          })
          resumed.start()
        },
      )
      expect(patchOffsets[0]).toBe(String(chunkSize))
      expect(patchOffsets).not.toContain('0')
      expect(outcome.status).toBe(204)
      expect(outcome.photoId).toMatch(/^[A-Za-z0-9_-]+$/)
      const photo = await darkroom.photos.get(ALICE, { id: outcome.photoId! })
      expect(photo).toMatchObject({ filename: 'resumed.jpg', width: 640, height: 480 })
      expect(photo.checksum).toBe(sha256(data))
    })

    it('resizes with /image (?w=) and answers a conditional GET with its ETag with 304', async () => {
      const { id } = await storePhoto(1200, 800)
      const url = `${media}/image/${id}.jpg?w=300`
      const first = await fetch(url, { headers: bearer })
      expect(first.status).toBe(200)
      expect(first.headers.get('content-type')).toBe('image/jpeg')
      const rendered = await sharp(Buffer.from(await first.arrayBuffer())).metadata()
      expect(rendered).toMatchObject({ format: 'jpeg', width: 300, height: 200 })
      const etag = first.headers.get('etag')
      expect(etag).toMatch(/^"[0-9a-f]+"$/)

      const again = await fetch(url, { headers: { ...bearer, 'if-none-match': etag! } })
      expect(again.status).toBe(304)
      expect(again.headers.get('etag')).toBe(etag)
      expect(await again.text()).toBe('')
    })

    it('serves the stored variant /photos/{id}/small.webp', async () => {
      const { id } = await storePhoto(1200, 800)
      const response = await fetch(`${media}/photos/${id}/small.webp`, { headers: bearer })
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toBe('image/webp')
      const body = Buffer.from(await response.arrayBuffer())
      expect(response.headers.get('content-length')).toBe(String(body.byteLength))
      expect(await sharp(body).metadata()).toMatchObject({ format: 'webp', width: 320 })
    })

    it('refuses a private photo without credentials exactly like a missing one, serves it with them', async () => {
      const { id } = await storePhoto(800, 600)
      const missing = randomUUID()
      for (const path of [`/photos/${id}/small.webp`, `/image/${id}.jpg?w=100`]) {
        const anonymous = await fetch(`${media}${path}`)
        const absent = await fetch(`${media}${path.replace(id, missing)}`)
        const stranger = await fetch(`${media}${path}`, { headers: { 'x-user': 'bob' } })
        for (const refused of [anonymous, absent, stranger]) {
          expect(refused.status, path).toBe(404)
          expect(refused.headers.get('content-type'), path).toMatch(/^application\/json/)
        }
        const refusedBody = (await anonymous.text()).replaceAll(id, '<id>')
        expect(refusedBody).toBe((await absent.text()).replaceAll(missing, '<id>'))
        expect((await stranger.text()).replaceAll(id, '<id>')).toBe(refusedBody)

        const withKey = await fetch(`${media}${path}`, { headers: bearer })
        expect(withKey.status, path).toBe(200)
        expect(withKey.headers.get('content-type'), path).toMatch(/^image\//)
        await withKey.arrayBuffer()
        const withAppSession = await fetch(`${media}${path}`, { headers: { 'x-user': 'alice' } })
        expect(withAppSession.status, path).toBe(200)
        await withAppSession.arrayBuffer()
      }
    })

    it("combines the app's authenticate hook (x-user) with API keys (Bearer sk_...)", async () => {
      const { id } = await storePhoto(400, 300)
      const viaKey = await trpcClient(bearer).photos.get.query({ id })
      expect(viaKey).toMatchObject({ id, ownerId: 'alice' })
      const viaApp = await trpcClient({ 'x-user': 'alice' }).photos.get.query({ id })
      expect(viaApp).toMatchObject({ id, ownerId: 'alice' })

      // The app's user is an owner of its own: bob sees none of alice's photos.
      const bob = trpcClient({ 'x-user': 'bob' })
      await expect(bob.photos.get.query({ id })).rejects.toMatchObject({
        data: { code: 'NOT_FOUND' },
      })
      const album = await bob.albums.create.mutate({ title: "Bob's" })
      expect(album.ownerId).toBe('bob')

      const nobody = trpcClient({})
      const refused = await nobody.photos.list.query().catch((error: unknown) => error)
      expect(refused).toBeInstanceOf(TRPCClientError)
      expect(refused).toMatchObject({ data: { code: 'UNAUTHORIZED' } })

      // The same two sign-ins on a picture route.
      for (const headers of [bearer, { 'x-user': 'alice' }]) {
        const picture = await fetch(`${media}/photos/${id}/small.webp`, { method: 'HEAD', headers })
        expect(picture.status).toBe(200)
      }
    })

    it("tus: an upload belongs to its creator, signed in by the app's hook or by API key", async () => {
      const created = await fetch(`${media}/files`, {
        method: 'POST',
        headers: { ...TUS, 'x-user': 'alice', 'Upload-Length': '1000' },
      })
      expect(created.status).toBe(201)
      const location = new URL(created.headers.get('location')!, mounted.url).href
      const foreign = await fetch(location, {
        method: 'HEAD',
        headers: { ...TUS, 'x-user': 'bob' },
      })
      expect(foreign.status).toBe(404)
      const anonymous = await fetch(location, { method: 'HEAD', headers: TUS })
      expect(anonymous.status).toBe(401)
      const own = await fetch(location, { method: 'HEAD', headers: { ...TUS, ...bearer } })
      expect(own.status).toBe(200)
      expect(own.headers.get('upload-offset')).toBe('0')
      const terminated = await fetch(location, { method: 'DELETE', headers: { ...TUS, ...bearer } })
      expect(terminated.status).toBe(204)
    })

    it('sends no CORS headers by default, to a preflight or a request', async () => {
      const origin = 'http://app.test'
      const preflight = await fetch(`${media}/trpc/photos.list`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'authorization',
        },
      })
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull()
      expect(preflight.headers.get('access-control-allow-methods')).toBeNull()
      for (const path of ['/healthz', '/trpc/albums.list']) {
        const response = await fetch(`${media}${path}`, { headers: { origin, ...bearer } })
        expect(response.status, path).toBe(200)
        expect(response.headers.get('access-control-allow-origin'), path).toBeNull()
      }
      const tusOptions = await fetch(`${media}/files`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      })
      expect(tusOptions.headers.get('access-control-allow-origin')).toBeNull()
    })

    it('with cors.origins, allows a preflight from a listed origin and not from another', async () => {
      const corsMount = await options.start({
        handlerOptions: { ...handlerOptions, cors: { origins: ['http://app.test'] } },
      })
      try {
        const preflight = (origin: string, path: string, method: string, headers: string) =>
          fetch(`${corsMount.url}${BASE_PATH}${path}`, {
            method: 'OPTIONS',
            headers: {
              origin,
              'access-control-request-method': method,
              'access-control-request-headers': headers,
            },
          })
        const allowed = await preflight(
          'http://app.test',
          '/trpc/photos.list',
          'GET',
          'authorization',
        )
        expect(allowed.status).toBeLessThan(300)
        expect(allowed.headers.get('access-control-allow-origin')).toBe('http://app.test')
        expect(allowed.headers.get('access-control-allow-methods')).toContain('GET')
        expect(allowed.headers.get('access-control-allow-headers')).toContain('Authorization')

        const allowedTus = await preflight(
          'http://app.test',
          '/files',
          'PATCH',
          'tus-resumable, upload-offset',
        )
        expect(allowedTus.headers.get('access-control-allow-origin')).toBe('http://app.test')
        expect(allowedTus.headers.get('access-control-allow-methods')).toContain('PATCH')
        expect(allowedTus.headers.get('access-control-allow-headers')).toContain('Upload-Offset')

        const refused = await preflight(
          'http://evil.test',
          '/trpc/photos.list',
          'GET',
          'authorization',
        )
        expect(refused.headers.get('access-control-allow-origin')).toBeNull()
        expect(refused.headers.get('access-control-allow-methods')).toBeNull()

        const listed = await fetch(`${corsMount.url}${BASE_PATH}/healthz`, {
          headers: { origin: 'http://app.test' },
        })
        expect(listed.headers.get('access-control-allow-origin')).toBe('http://app.test')
        const other = await fetch(`${corsMount.url}${BASE_PATH}/healthz`, {
          headers: { origin: 'http://evil.test' },
        })
        expect(other.status).toBe(200)
        expect(other.headers.get('access-control-allow-origin')).toBeNull()
      } finally {
        await corsMount.close()
      }
    })

    it('tus: streams upload bodies, RSS grows by less than 48 MiB while 64 MiB arrive', async () => {
      const size = 64 * MiB
      // A real JPEG's first bytes (tus sniffs them), zeros after; Upload-Length is one byte
      // more, so the upload stays open and no ingest (which reads the file) runs.
      const head = await makeJpeg(64, 64)
      const created = await fetch(`${media}/files`, {
        method: 'POST',
        headers: {
          ...TUS,
          ...bearer,
          'Upload-Length': String(size + 1),
          'Upload-Metadata': `filename ${Buffer.from('big.jpg').toString('base64')}`,
        },
      })
      expect(created.status).toBe(201)
      const location = new URL(created.headers.get('location')!, mounted.url).href

      // RSS is sampled every 20 ms right after a young-generation collection, so the figure
      // is what the process holds, not socket chunks already let go and awaiting the GC (V8
      // lets ~64 MiB of such external memory pile up before it collects on its own: 30-45 MiB
      // here without it, streamed or not). A body held whole shows as 64 MiB or more.
      const collectYoung = exposedGc({ type: 'minor' })
      collectYoung()
      const before = process.memoryUsage.rss()
      let peak = before
      const sampler = setInterval(() => {
        collectYoung()
        peak = Math.max(peak, process.memoryUsage.rss())
      }, 20)
      let answer: { status: number; headers: IncomingHttpHeaders; body: string }
      try {
        answer = await sendStreamed(location, zeroBody(head, size), {
          ...TUS,
          ...bearer,
          'Content-Type': 'application/offset+octet-stream',
          'Content-Length': String(size),
          'Upload-Offset': '0',
        })
      } finally {
        clearInterval(sampler)
      }
      peak = Math.max(peak, process.memoryUsage.rss())
      const growth = peak - before
      console.log(
        `[${options.name}] RSS growth while a 64 MiB tus PATCH body was received: ` +
          `${(growth / MiB).toFixed(1)} MiB (before ${(before / MiB).toFixed(0)} MiB, ` +
          `peak ${(peak / MiB).toFixed(0)} MiB)`,
      )
      expect(answer.status, answer.body).toBe(204)
      expect(answer.headers['upload-offset']).toBe(String(size))
      expect(growth).toBeLessThan(48 * MiB)

      const terminated = await fetch(location, { method: 'DELETE', headers: { ...TUS, ...bearer } })
      expect(terminated.status).toBe(204)
    })
  })
}

/** A JPEG of one colour with a unique description, so that every call has its own bytes. */
async function makeJpeg(width: number, height: number): Promise<Buffer> {
  const [r, g, b] = randomBytes(3)
  return sharp({ create: { width, height, channels: 3, background: { r: r!, g: g!, b: b! } } })
    .withExif({ IFD0: { ImageDescription: randomUUID() } })
    .jpeg({ quality: 90 })
    .toBuffer()
}

/** A JPEG of noise: large for its size, so that a tus upload of it takes several chunks. */
async function makeNoiseJpeg(width: number, height: number): Promise<Buffer> {
  return sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer()
}

/** V8's `gc(options)`, without `--expose-gc` on the command line. */
function exposedGc(options: { type: 'minor' | 'major' }): () => void {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as (options: { type: 'minor' | 'major' }) => void
  return () => gc(options)
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** `size` bytes: `head`, then zeros, from one reused 1 MiB buffer (the client holds no copy). */
function zeroBody(head: Buffer, size: number): Readable {
  const zeros = Buffer.alloc(MiB)
  return Readable.from(
    (function* () {
      yield head
      let left = size - head.byteLength
      while (left > 0) {
        const n = Math.min(left, zeros.byteLength)
        yield n === zeros.byteLength ? zeros : zeros.subarray(0, n)
        left -= n
      }
    })(),
    { objectMode: false },
  )
}

/** A PATCH over node:http with a streamed body; resolves with the answer. */
async function sendStreamed(
  url: string,
  body: Readable,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const req = httpRequest(url, { method: 'PATCH', headers, agent: false })
  const answered = new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      req.once('error', reject)
      req.once('response', (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.once('error', reject)
        res.once('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        )
      })
    },
  )
  // A server that answers early (a refusal) may close before the body is sent: its answer wins.
  await Promise.all([pipeline(body, req).catch(() => undefined), answered])
  return answered
}
