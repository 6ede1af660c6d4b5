import { request } from 'node:http'
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeJpeg, photosOf } from '@darkroom/core/testing'
import type { AppRouter } from '@darkroom/trpc'
import type { TRPCClient } from '@trpc/client'
import * as tus from 'tus-js-client'
import { afterAll, describe, expect, it } from 'vitest'
import { createFsBlobStore } from '@darkroom/storage'
import { createEngine } from '../compose.js'
import { loadConfig } from '../config.js'
import { createLogger } from '../logger.js'
import { makeClient, makeNoiseJpeg, uploadForm } from '../testing/harness.js'
import {
  crashSeed,
  Prng,
  readPhotoRows,
  runCli,
  sha256,
  sleep,
  startServerChild,
  sweepOrphansInProcess,
  walkBlobFiles,
  type ServerChild,
} from './crash-harness.js'

/**
 * SIGKILL at random moments (seeded: the seed is printed, `CRASH_SEED` replays it), spread over
 * five scenarios: a tRPC FormData batch ingest, a tus PATCH mid-file, the PATCH that finishes an
 * upload (and so ingests it), a bulk delete and a run of reorders. After each kill, with the
 * server down: the orphan sweep runs on the DATA_DIR, then every file of the blob folder must
 * belong to a row and every row's blobs must be there. After the restart: every acknowledged
 * upload is listed with its original's sha256 intact, every listed photo serves its original
 * and every variant, the interrupted tus upload resumes with tus-js-client and completes, an
 * acknowledged delete stays done and the album order is the acknowledged one (or the one the
 * reorder in flight would give). `CRASH_TRIALS` sets the number of kills (default 30).
 */

const TRIALS = Number(process.env.CRASH_TRIALS ?? 30)
const SCENARIOS = ['batch', 'tus-patch', 'tus-finish', 'bulk-delete', 'reorder'] as const
type Scenario = (typeof SCENARIOS)[number]

type Client = TRPCClient<AppRouter>

interface Settled<T> {
  ok: boolean
  value?: T
  error?: unknown
}

const settle = <T>(promise: Promise<T>): Promise<Settled<T>> =>
  promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  )

let dataDir: string | undefined
let child: ServerChild | undefined

afterAll(async () => {
  await child?.kill()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

describe('the orphan sweep on what a crash leaves', () => {
  it('removes an unreferenced blob and a cut-off temp file, and spares a young temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'darkroom-sweep-'))
    try {
      const blobs = createFsBlobStore({ root: join(dir, 'blobs') })
      // A crash between the blob writes and the row: bytes under a key no row references.
      await blobs.put('photos/0192f0c0-0000-7000-8000-000000000001/original', Buffer.from('x'))
      // A crash inside a put: its temp file, old, and one being written right now.
      await mkdir(join(dir, 'blobs', '.tmp'), { recursive: true })
      const cut = join(dir, 'blobs', '.tmp', 'cut.tmp')
      const young = join(dir, 'blobs', '.tmp', 'young.tmp')
      await writeFile(cut, 'partial')
      await writeFile(young, 'partial')
      const hourAgo = new Date(Date.now() - 3_600_000)
      await utimes(cut, hourAgo, hourAgo)

      const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' })
      const engine = await createEngine(config, createLogger('silent', { pretty: false }))
      try {
        const swept = await engine.darkroom.maintenance.sweepOrphans({ olderThanMs: 60_000 })
        expect(swept.orphans).toEqual([])
        expect(swept.incomplete).toBe(1)
        const all = await engine.darkroom.maintenance.sweepOrphans({ olderThanMs: 0 })
        expect(all.orphans).toEqual(['photos/0192f0c0-0000-7000-8000-000000000001/original'])
        expect(all.incomplete).toBe(1)
      } finally {
        await engine.darkroom.close()
      }
      expect(await walkBlobFiles(join(dir, 'blobs'))).toEqual([])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('crash safety (SIGKILL, restart on the same DATA_DIR)', () => {
  it(`keeps every invariant over ${TRIALS} kills`, { timeout: 600_000 }, async () => {
    const seed = crashSeed()
    console.log(`crash harness: seed ${seed} (replay with CRASH_SEED=${seed}), ${TRIALS} trials`)
    const rng = new Prng(seed)
    dataDir = await mkdtemp(join(tmpdir(), 'darkroom-crash-'))
    const dir = dataDir
    child = await startServerChild({ dataDir: dir })
    const key = child.adminKey
    if (!key) throw new Error(`no admin key on the first start:\n${child.output()}`)
    let client: Client = makeClient(child.url, key)
    const auth = { authorization: `Bearer ${key}` }

    /** Live photos whose upload was acknowledged (or found after a crash): id → sha256. */
    const expected = new Map<string, string>()
    /** The album the reorders run in, and its order as last acknowledged. */
    const album = await client.albums.create.mutate({ title: 'crash' })
    let order: string[] = []
    let imageSeed = 1
    const counts = { trials: 0, cutOff: 0, orphansSwept: 0, incompleteSwept: 0, resumed: 0 }
    /** Per scenario: kills, and how many of them cut the request off (the rest came after). */
    const perScenario = Object.fromEntries(
      SCENARIOS.map((s): [Scenario, { kills: number; cut: number }] => [s, { kills: 0, cut: 0 }]),
    ) as Record<Scenario, { kills: number; cut: number }>
    let current: Scenario = SCENARIOS[0]

    const smallJpeg = (n: number) => makeJpeg({ width: 480, height: 360, seed: n })

    // Seed: photos in the album (reorder) and outside it (the pool bulk delete draws from).
    const seedBatch = async (albumId: string | null, n: number) => {
      const files = await Promise.all(
        Array.from({ length: n }, () => smallJpeg(imageSeed++).then((data) => ({ data }))),
      )
      const result = await client.photos.upload.mutate(
        uploadForm(
          files.map((f, i) => ({ name: `seed-${i}.jpg`, data: f.data })),
          albumId ? { albumId } : {},
        ),
      )
      expect(result.uploaded).toHaveLength(n)
      for (const photo of photosOf(result)) expected.set(photo.id, photo.checksum)
      return result.uploaded.map((p) => p.id)
    }
    await seedBatch(album.id, 8)
    await seedBatch(null, 8)

    const pathOf = (location: string) => new URL(location, child!.url).pathname

    async function tusCreate(data: Buffer, filename: string): Promise<string> {
      const res = await fetch(`${child!.url}/files`, {
        method: 'POST',
        headers: {
          ...auth,
          'Tus-Resumable': '1.0.0',
          'Upload-Length': String(data.byteLength),
          'Upload-Metadata': `filename ${Buffer.from(filename).toString('base64')}`,
        },
      })
      expect(res.status).toBe(201)
      return pathOf(res.headers.get('location')!)
    }

    /** A PATCH whose body is sent in `chunk`-byte pieces `delayMs` apart (0: at once). */
    function tusPatch(
      path: string,
      offset: number,
      body: Buffer,
      pace: { chunk: number; delayMs: number } = { chunk: body.byteLength, delayMs: 0 },
    ): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
      const url = new URL(path, child!.url)
      return new Promise((resolve, reject) => {
        const req = request(
          url,
          {
            method: 'PATCH',
            headers: {
              ...auth,
              'Tus-Resumable': '1.0.0',
              'Upload-Offset': String(offset),
              'Content-Type': 'application/offset+octet-stream',
              'Content-Length': String(body.byteLength),
            },
          },
          (res) => {
            res.resume()
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }))
            res.on('error', reject)
          },
        )
        req.on('error', reject)
        void (async () => {
          for (let at = 0; at < body.byteLength; at += pace.chunk) {
            if (req.destroyed) return
            req.write(body.subarray(at, at + pace.chunk))
            if (pace.delayMs > 0) await sleep(pace.delayMs)
          }
          req.end()
        })()
      })
    }

    /** Resumes an upload with tus-js-client from wherever the server says it is. */
    function tusResume(path: string, data: Buffer): Promise<{ photoId: string | null }> {
      return new Promise((resolve, reject) => {
        const upload = new tus.Upload(data, {
          endpoint: `${child!.url}/files`,
          uploadUrl: `${child!.url}${path}`,
          headers: auth,
          retryDelays: [],
          storeFingerprintForResuming: false,
          metadata: { filename: 'resumed.jpg' },
          onSuccess: ({ lastResponse }) =>
            resolve({ photoId: lastResponse.getHeader('Darkroom-Photo-Id') ?? null }),
          onError: reject,
        })
        upload.start()
      })
    }

    async function headOffset(path: string): Promise<number> {
      const res = await fetch(`${child!.url}${path}`, {
        method: 'HEAD',
        headers: { ...auth, 'Tus-Resumable': '1.0.0' },
      })
      expect(res.status).toBe(200)
      return Number(res.headers.get('upload-offset'))
    }

    async function listAll(input: { albumId?: string; sort?: 'position' } = {}) {
      const items = []
      for (let offset = 0; ; offset += 200) {
        const page = await client.photos.list.query({
          ...input,
          ...(input.sort ? { order: 'asc' as const } : {}),
          limit: 200,
          offset,
        })
        items.push(...page.items)
        if (page.items.length < 200) return items
      }
    }

    /** A request cut by the kill never got an HTTP answer; a 5xx before the kill is a bug. */
    function expectCutOff(error: unknown, what: string) {
      const status = (error as { data?: { httpStatus?: number } })?.data?.httpStatus
      if (status !== undefined)
        throw new Error(`${what} answered ${status} before the kill`, {
          cause: error,
        })
    }

    /** Server down: sweep, then every blob file belongs to a row and every row has its blobs. */
    async function checkStorage(label: string) {
      const swept = await sweepOrphansInProcess(dir)
      counts.orphansSwept += swept.orphans.length
      counts.incompleteSwept += swept.incomplete
      const rows = readPhotoRows(dir)
      const files = await walkBlobFiles(join(dir, 'blobs'))
      const referenced = new Set(rows.flatMap((r) => r.keys))
      const present = new Set(files.map((f) => f.key))
      const unreferenced = files.filter((f) => f.key === null || !referenced.has(f.key))
      expect(
        unreferenced.map((f) => f.path),
        `${label}: files no row references`,
      ).toEqual([])
      const missing = rows.flatMap((r) => r.keys.filter((k) => !present.has(k)))
      expect(missing, `${label}: blobs a row points at but that are gone`).toEqual([])
      return rows
    }

    /** Server up: acknowledged photos listed and intact; every listed photo fully served. */
    /**
     * Photos whose original and variants were fetched whole since they last changed. Every row's
     * blob files are checked after every kill (checkStorage); the bytes over HTTP are fetched
     * again only for photos a trial touched, and for every photo at the end.
     */
    const served = new Set<string>()

    async function checkVisible(label: string, all = false) {
      const listed = await listAll()
      const byId = new Map(listed.map((p) => [p.id, p]))
      for (const [id, checksum] of expected) {
        expect(byId.get(id)?.checksum, `${label}: acknowledged photo ${id} is listed`).toBe(
          checksum,
        )
      }
      for (const photo of listed) {
        if (served.has(photo.id) && !all) continue
        for (const [name, url] of Object.entries(photo.variants)) {
          if (!url) continue
          const res = await fetch(`${child!.url}${url}`, { headers: auth })
          expect(res.status, `${label}: ${photo.id} ${name}`).toBe(200)
          const body = Buffer.from(await res.arrayBuffer())
          if (name === 'original') {
            expect(sha256(body), `${label}: original of ${photo.id}`).toBe(photo.checksum)
          } else expect(body.byteLength).toBeGreaterThan(0)
        }
        served.add(photo.id)
      }
      return listed
    }

    async function restart() {
      child = await startServerChild({ dataDir: dir })
      client = makeClient(child.url, key)
    }

    /**
     * How long each scenario's request took when it was answered before the kill (ms): the next
     * kill of that scenario is drawn inside it, so kills keep landing mid-request on a fast or a
     * slow machine. The PRNG draws the fraction of the window.
     */
    const span: Partial<Record<Scenario, number>> = {
      batch: 600,
      'tus-finish': 250,
      'bulk-delete': 40,
    }

    /** Runs `work` and kills the server `delayMs` (default: a draw in the window) after. */
    async function killDuring<T>(work: () => Promise<T>, delayMs?: number): Promise<Settled<T>> {
      const window = (span[current] ?? 300) * 1.1
      const delay = delayMs ?? Math.round(rng.next() * window)
      const started = performance.now()
      const running = settle(
        work().then((value) => {
          if (span[current] !== undefined) span[current] = performance.now() - started
          return value
        }),
      )
      await sleep(delay)
      await child!.kill()
      const result = await running
      if (!result.ok) {
        counts.cutOff++
        perScenario[current].cut++
      }
      return result
    }

    // The batch's files are ingested concurrently: their order is the order of their commits.
    order = (await listAll({ albumId: album.id, sort: 'position' })).map((p) => p.id)
    expect(order).toHaveLength(8)

    for (let trial = 0; trial < TRIALS; trial++) {
      const scenario = SCENARIOS[trial % SCENARIOS.length]!
      current = scenario
      const label = `trial ${trial} (${scenario}, seed ${seed})`
      const t0 = performance.now()
      let verify: (listed: Awaited<ReturnType<typeof listAll>>) => Promise<void>

      if (scenario === 'batch') {
        const datas = await Promise.all(Array.from({ length: 4 }, () => smallJpeg(imageSeed++)))
        const shas = new Set(datas.map(sha256))
        const form = uploadForm(datas.map((data, i) => ({ name: `batch-${i}.jpg`, data })))
        const result = await killDuring(() => client.photos.upload.mutate(form))
        if (!result.ok) expectCutOff(result.error, 'the batch')
        verify = async (listed) => {
          if (result.ok) {
            for (const photo of result.value!.uploaded) {
              expect(
                listed.some((p) => p.id === photo.id),
                `${label}: acked ${photo.id}`,
              ).toBe(true)
            }
          }
          // What a cut batch stored is whole (checked for every listed photo); track it.
          for (const photo of listed)
            if (shas.has(photo.checksum)) expected.set(photo.id, photo.checksum)
        }
      } else if (scenario === 'tus-patch' || scenario === 'tus-finish') {
        const data = await makeNoiseJpeg(560, 420, imageSeed++)
        const path = await tusCreate(data, `${scenario}.jpg`)
        // An acknowledged first part, whose offset must survive the kill.
        const split = scenario === 'tus-patch' ? 65_536 : data.byteLength - 4096
        const first = await tusPatch(path, 0, data.subarray(0, split))
        expect(first.status).toBe(204)
        const acked = Number(first.headers['upload-offset'])
        expect(acked).toBe(split)
        const rest = data.subarray(split)
        const result =
          scenario === 'tus-patch'
            ? // The paced body takes about 15 ms per 16 KiB: kill somewhere inside it.
              await killDuring(
                () => tusPatch(path, split, rest, { chunk: 16_384, delayMs: 15 }),
                rng.int(5, Math.ceil(rest.byteLength / 16_384) * 14),
              )
            : await killDuring(() => tusPatch(path, split, rest))
        if (result.ok) expect(result.value!.status).toBe(204)
        const ackedPhoto = result.ok
          ? (result.value!.headers['darkroom-photo-id'] as string | undefined)
          : undefined
        verify = async () => {
          const offset = await headOffset(path)
          expect(offset, `${label}: acknowledged offset kept`).toBeGreaterThanOrEqual(acked)
          expect(offset).toBeLessThanOrEqual(data.byteLength)
          const { photoId } = await tusResume(path, data)
          expect(photoId, `${label}: the resumed upload names its photo`).toBeTruthy()
          if (ackedPhoto) expect(photoId).toBe(ackedPhoto)
          if (offset < data.byteLength) counts.resumed++
          const photo = await client.photos.get.query({ id: photoId! })
          expect(photo.checksum, `${label}: resumed upload's sha256`).toBe(sha256(data))
          expected.set(photo.id, photo.checksum)
        }
      } else if (scenario === 'bulk-delete') {
        const inAlbum = new Set(order)
        let pool = [...expected.keys()].filter((id) => !inAlbum.has(id))
        if (pool.length < 5) {
          await seedBatch(null, 6)
          pool = [...expected.keys()].filter((id) => !inAlbum.has(id))
        }
        const ids = rng.shuffle(pool).slice(0, 5)
        const hard = rng.next() < 0.75
        const result = await killDuring(() => client.photos.bulkDelete.mutate({ ids, hard }))
        if (!result.ok) expectCutOff(result.error, 'the bulk delete')
        // Deleted or not, each photo is whole: settle the model from what is there.
        for (const id of ids) {
          expected.delete(id)
          served.delete(id)
        }
        verify = async (listed) => {
          const live = new Set(listed.map((p) => p.id))
          if (result.ok) {
            expect(result.value!.deleted).toBe(ids.length)
            expect(
              ids.filter((id) => live.has(id)),
              `${label}: acked deletes stay`,
            ).toEqual([])
          }
          const rows = new Map(readPhotoRows(dir).map((r) => [r.id, r]))
          for (const id of ids) {
            if (live.has(id)) expected.set(id, rows.get(id)!.checksum)
            else if (hard) expect(rows.get(id)?.deleted ?? true, `${label}: ${id}`).toBe(true)
          }
        }
      } else {
        let acked = [...order]
        let inflight: string[] | null = null
        let stop = false
        const work = async () => {
          while (!stop) {
            const [id, anchor] = rng.shuffle(acked).slice(0, 2) as [string, string]
            const before = rng.next() < 0.5
            const next = acked.filter((x) => x !== id)
            next.splice(next.indexOf(anchor) + (before ? 0 : 1), 0, id)
            inflight = next
            await client.photos.reorder.mutate(
              before ? { id, before: anchor } : { id, after: anchor },
            )
            acked = next
            inflight = null
          }
        }
        const result = await killDuring(work, rng.int(0, 400))
        stop = true
        if (!result.ok) expectCutOff(result.error, 'a reorder')
        verify = async () => {
          const now = (await listAll({ albumId: album.id, sort: 'position' })).map((p) => p.id)
          const candidates = [acked, ...(inflight ? [inflight] : [])]
          if (!candidates.some((c) => c.join() === now.join())) {
            expect(
              now,
              `${label}: album order is the acknowledged one (or the one in flight)`,
            ).toEqual(acked)
          }
          order = now
        }
      }

      const t1 = performance.now()
      await checkStorage(label)
      const t2 = performance.now()
      await restart()
      const t3 = performance.now()
      const listed = await checkVisible(label)
      const t4 = performance.now()
      await verify(listed)
      if (process.env.CRASH_VERBOSE) {
        const ms = (a: number, b: number) => Math.round(b - a)
        console.log(
          `${label}: work ${ms(t0, t1)} ms, storage ${ms(t1, t2)}, restart ${ms(t2, t3)}, ` +
            `visible ${ms(t3, t4)}, verify ${ms(t4, performance.now())}`,
        )
      }
      counts.trials++
      perScenario[scenario].kills++
    }

    // Finally the sweep through the CLI, as an operator runs it, on a stopped server.
    await child.kill()
    const cli = JSON.parse(await runCli(dir, ['sweep-orphans', '--older-than-ms', '0'])) as {
      orphans: string[]
    }
    expect(cli.orphans).toEqual([])
    await checkStorage('final')
    await restart()
    await checkVisible('final', true)

    console.log(
      `crash harness: ${counts.trials} kills (${JSON.stringify(perScenario)}), ` +
        `${expected.size} photos intact, ${counts.orphansSwept} orphan blobs and ` +
        `${counts.incompleteSwept} partial writes swept, ` +
        `${counts.cutOff} requests cut off by the kill, ${counts.resumed} tus uploads resumed mid-file`,
    )
    expect(counts.trials).toBe(TRIALS)
  })
})
