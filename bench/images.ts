import { readdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { signUrl } from '@darkroom/http'
import { createDarkroomClient } from '../apps/example/src/client.js'
import { startChild, SERVER_MAIN, type Child } from './children.js'
import { printTable, size, stats, writeJson, type Row, type Stats } from './lib.js'
import { makePhoto } from './photos.js'

/**
 * Image route: `node apps/server/dist/main.bundle.js` (what `npm start` runs) in a child process on
 * SQLite + a folder, loaded by autocannon from this process on 127.0.0.1.
 *
 * - Cached hits: one public photo's `/image/{id}.jpg?w=512`, warmed, against a plain Node
 *   static server (another child) streaming the same cache file from disk with the same
 *   response headers. Same autocannon settings, rounds interleaved.
 * - Misses, imgproxy's workload (~2K-px JPEG to 512-px JPEG, 2 concurrent clients): signed URLs
 *   (signed sizes are exact, not snapped) over several photos x widths 512, 511, ... so that no
 *   two requests share a cache entry. The baseline is in-process sharp running the same
 *   resizes from the same source file the route reads, with 2 concurrent loops. The cache
 *   folder is counted afterwards: one entry per request.
 * imgproxy's published figure (~80 req/s on 2 vCPU) is a reference row, not measured here.
 * Each case also notes the CPU its server spent per request (less noisy than req/s on a shared
 * machine). CPU_PROF_DIR=<folder> runs the server child under `node --cpu-prof` into it.
 */

const require = createRequire(import.meta.url)
const autocannon = require('autocannon') as (options: CannonOptions) => Promise<CannonResult>

interface CannonOptions {
  url: string
  connections: number
  duration?: number
  amount?: number
  headers?: Record<string, string>
  sampleInt?: number
  requests?: { setupRequest: (req: { path: string }) => { path: string } }[]
}
interface CannonResult {
  duration: number
  errors: number
  non2xx: number
  latency: { p50: number; p99: number }
  statusCodeStats: Record<string, { count: number }>
}

const SECRET = 'bench-images-signing-secret-0123456789abcdef'
const PHOTOS = size('PHOTOS', 8, 2)
const ROUNDS = size('ROUNDS', 5, 1)
/** Seconds per cached-hit run. */
const HIT_SECONDS = size('HIT_SECONDS', 5, 1)
const HIT_CONNECTIONS = 10
/** Requests per miss run (spread over PHOTOS photos), and sharp resizes per baseline run. */
const MISSES = size('MISSES', 120, 16)
const MISS_CONNECTIONS = 2
const WIDTH = 512
const IMGPROXY_REQ_S = 80

/**
 * A static file server as plain as it gets: stat, then stream the file with fixed headers
 * (copied from the image route's own answer, so both send the same bytes).
 */
const STATIC = `
const { createServer } = require('node:http')
const { createReadStream, stat } = require('node:fs')
const file = process.env.FILE
const headers = JSON.parse(process.env.HEADERS)
createServer((req, res) => {
  stat(file, (err, info) => {
    if (err) { res.writeHead(404).end(); return }
    res.writeHead(200, { ...headers, 'Content-Length': info.size })
    createReadStream(file).pipe(res)
  })
}).listen(0, '127.0.0.1', function () { console.log('listening on http://127.0.0.1:' + this.address().port) })
process.on('SIGTERM', () => process.exit(0))
`

/** Polls `read` until `done` holds (for at most 5 s); its last value. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let tries = 0; ; tries++) {
    const value = await read().catch(() => null)
    if (value !== null && done(value)) return value
    if (tries === 250) throw new Error(`gave up waiting: ${JSON.stringify(value)}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** One autocannon run; with `server`, also the CPU it spent per answered request. */
async function cannon(options: CannonOptions, server?: Child): Promise<Sample> {
  const cpuBefore = server ? await server.cpuMs() : null
  // The run ends on a sample tick: a short tick keeps `duration` exact for `amount` runs.
  const result = await autocannon({ sampleInt: 10, ...options })
  const cpuAfter = server ? await server.cpuMs() : null
  const ok = result.statusCodeStats['200']?.count ?? 0
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(
      `${options.url}: ${result.errors} errors, non-2xx ${JSON.stringify(result.statusCodeStats)}`,
    )
  }
  return {
    rate: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ...(cpuBefore !== null && cpuAfter !== null
      ? { cpuMsPerRequest: (cpuAfter - cpuBefore) / ok }
      : {}),
  }
}

interface Sample {
  rate: number
  p50: number
  p99: number
  cpuMsPerRequest?: number
}

/** `; CPU 0.41 ms/request` (median over runs), or nothing where it cannot be read. */
function cpuNote(samples: Sample[]): string {
  if (samples.some((s) => s.cpuMsPerRequest === undefined)) return ''
  return `; server CPU ${summarise(samples, (s) => s.cpuMsPerRequest!).median.toFixed(2)} ms/request`
}

function summarise(samples: Sample[], pick: (s: Sample) => number): Stats {
  return stats(samples.map(pick))
}

/** Rows for a measured case: its rate (with the ratio to `baseline`), then p50 and p99. */
function rows(
  name: string,
  unit: string,
  samples: Sample[],
  conditions: string,
  baseline?: number,
): Row[] {
  const rate = summarise(samples, (s) => s.rate)
  return [
    {
      name,
      unit,
      ...rate,
      ...(baseline ? { ratio: rate.median / baseline } : {}),
      conditions,
    },
    { name: `${name} p50`, unit: 'ms', ...summarise(samples, (s) => s.p50), conditions },
    { name: `${name} p99`, unit: 'ms', ...summarise(samples, (s) => s.p99), conditions },
  ]
}

/** `loops` concurrent loops running `op` over `jobs`; every op's latency is kept. */
async function inProcess<T>(jobs: T[], loops: number, op: (job: T) => Promise<unknown>) {
  const latencies: number[] = []
  let next = 0
  const cpu = process.cpuUsage()
  const start = performance.now()
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!
        const t = performance.now()
        await op(job)
        latencies.push(performance.now() - t)
      }
    }),
  )
  const seconds = (performance.now() - start) / 1000
  latencies.sort((a, b) => a - b)
  const at = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!
  const { user, system } = process.cpuUsage(cpu)
  return {
    rate: jobs.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
    cpuMsPerRequest: (user + system) / 1000 / jobs.length,
  }
}

export async function run(): Promise<Row[]> {
  sharp.cache(false)
  const dir = await mkdtemp(join(tmpdir(), 'darkroom-bench-images-'))
  const dataDir = join(dir, 'data')
  const server = await startChild(
    [
      ...(process.env.CPU_PROF_DIR
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CPU_PROF_DIR}`]
        : []),
      SERVER_MAIN,
    ],
    {
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      SIGNING_SECRET: SECRET,
    },
  )
  let baseline: Child | null = null
  try {
    const key = await server.adminKey()
    const auth = { authorization: `Bearer ${key}` }
    const client = createDarkroomClient({ baseUrl: server.url, apiKey: key })
    const form = new FormData()
    // PHOTOS for the misses, one more for the hits (so no miss URL meets the hit's entry).
    for (let i = 0; i <= PHOTOS; i++) {
      const data = await makePhoto(2048, 1365, i * 5)
      form.append('files', new File([data], `photo-${i}.jpg`, { type: 'image/jpeg' }))
    }
    const { uploaded, skipped } = await client.photos.upload.mutate(form)
    if (skipped.length > 0) throw new Error(`skipped: ${JSON.stringify(skipped)}`)
    const ids = uploaded.slice(0, PHOTOS).map((p) => p.id)
    const hitId = uploaded[PHOTOS]!.id
    const rowsOut: Row[] = []

    // Cached hits: a public photo, anonymous requests (no key lookup), as a CDN would send.
    await client.photos.update.mutate({ id: hitId, isPublic: true })
    const hitUrl = `${server.url}/image/${hitId}.jpg?w=${WIDTH}`
    const warm = await fetch(hitUrl)
    const warmBody = Buffer.from(await warm.arrayBuffer())
    if (warm.status !== 200) throw new Error(`warming ${hitUrl}: ${warm.status}`)
    // The route answers before its cache file is written: wait for the file.
    const [cacheFile] = await until(
      () => readdir(join(dataDir, 'cache', hitId)),
      (f) => f.length === 1,
    )
    const headers = Object.fromEntries(
      [...warm.headers].filter(
        ([name]) => !['date', 'connection', 'keep-alive', 'content-length'].includes(name),
      ),
    )
    headers['x-cache'] = 'HIT'
    baseline = await startChild(['-e', STATIC], {
      FILE: join(dataDir, 'cache', hitId, cacheFile!),
      HEADERS: JSON.stringify(headers),
    })
    const check = await fetch(baseline.url)
    if (!Buffer.from(await check.arrayBuffer()).equals(warmBody)) {
      throw new Error('the static server does not send the cached bytes')
    }
    const hitServer: Sample[] = []
    const hitStatic: Sample[] = []
    const settings = { connections: HIT_CONNECTIONS, duration: HIT_SECONDS }
    for (let round = 0; round < ROUNDS; round++) {
      // Alternating which goes first cancels a drift in the machine's load between the two.
      const runStatic = async () =>
        hitStatic.push(await cannon({ url: baseline!.url, ...settings }, baseline!))
      const runServer = async () =>
        hitServer.push(await cannon({ url: hitUrl, ...settings }, server))
      if (round % 2 === 0) await runStatic().then(runServer)
      else await runServer().then(runStatic)
    }
    await baseline.stop()
    baseline = null
    const hitConditions =
      `${ROUNDS} rounds x ${HIT_SECONDS} s, autocannon ${HIT_CONNECTIONS} connections, ` +
      `${warmBody.length} B JPEG (w=${WIDTH}), public photo, no key; rounds interleaved`
    const staticRate = summarise(hitStatic, (s) => s.rate).median
    rowsOut.push(
      ...rows(
        'hit: node static server (baseline)',
        'req/s',
        hitStatic,
        `${hitConditions}; stat + createReadStream, same headers${cpuNote(hitStatic)}`,
      ),
      ...rows(
        'hit: /image cached (X-Cache HIT)',
        'req/s',
        hitServer,
        `${hitConditions}; access check per request${cpuNote(hitServer)}`,
        staticRate,
      ),
    )

    // Misses: signed, exact widths 512, 511, ... per photo: every request is a new cache entry.
    const expires = new Date(Date.now() + 3_600_000)
    const jobs = Array.from({ length: MISSES * ROUNDS }, (_, i) => ({
      id: ids[i % ids.length]!,
      width: WIDTH - Math.floor(i / ids.length),
    }))
    const paths = jobs.map((job) =>
      signUrl(SECRET, `/image/${job.id}.jpg`, { w: job.width }, expires),
    )
    // The route resizes from the smallest stored rendition at least as large as the result:
    // the same bytes (fetched once, kept in a file) are the baseline's source.
    const first = await fetch(`${server.url}${paths[0]!}`)
    await first.arrayBuffer()
    const source = first.headers.get('x-image-source')
    if (first.headers.get('x-cache') !== 'MISS' || !source) throw new Error('the probe was no miss')
    const ext = source === 'original' ? 'jpg' : 'webp'
    const sources = new Map<string, string>()
    for (const id of ids) {
      const res = await fetch(`${server.url}/photos/${id}/${source}.${ext}`, { headers: auth })
      if (res.status !== 200) throw new Error(`source ${id}/${source}: ${res.status}`)
      const file = join(dir, `${id}.${source}`)
      await writeFile(file, Buffer.from(await res.arrayBuffer()))
      sources.set(id, file)
    }
    const missServer: Sample[] = []
    const missSharp: Sample[] = []
    for (let round = 0; round < ROUNDS; round++) {
      // Skips the request made above to find the source.
      const slice = jobs.slice(round * MISSES + 1, (round + 1) * MISSES)
      const pathSlice = paths.slice(round * MISSES + 1, (round + 1) * MISSES)
      const runSharp = async () =>
        missSharp.push(
          await inProcess(slice, MISS_CONNECTIONS, async (job) =>
            sharp(await readFile(sources.get(job.id)!), { failOn: 'none' })
              .rotate()
              .resize({ width: job.width, fit: 'inside', withoutEnlargement: true })
              .jpeg({ quality: 80 })
              .toBuffer(),
          ),
        )
      let next = 0
      const runServer = async () =>
        missServer.push(
          await cannon(
            {
              url: server.url,
              connections: MISS_CONNECTIONS,
              amount: pathSlice.length,
              requests: [{ setupRequest: (req) => ({ ...req, path: pathSlice[next++]! }) }],
            },
            server,
          ),
        )
      if (round % 2 === 0) await runSharp().then(runServer)
      else await runServer().then(runSharp)
    }
    const countEntries = async () => {
      let entries = 0
      for (const id of ids) {
        entries += (await readdir(join(dataDir, 'cache', id)).catch(() => [])).length
      }
      return entries
    }
    await until(countEntries, (n) => n === 1 + ROUNDS * (MISSES - 1))
    const missConditions =
      `${ROUNDS} rounds x ${MISSES - 1} requests, 2048x1365 JPEG uploads, ${PHOTOS} photos x ` +
      `widths ${WIDTH} down to ${jobs[jobs.length - 1]!.width} (signed URLs: exact sizes, every ` +
      `request a distinct cache key), JPEG q80, source: the stored "${source}" rendition`
    const sharpRate = summarise(missSharp, (s) => s.rate).median
    const missRate = summarise(missServer, (s) => s.rate).median
    rowsOut.push(
      ...rows(
        'miss: in-process sharp, 2 loops (baseline)',
        'ops/s',
        missSharp,
        `${missConditions}; same source file read per op${cpuNote(missSharp).replace('server', 'process')}`,
      ),
      ...rows(
        'miss: /image signed, every request a miss',
        'req/s',
        missServer,
        `${missConditions}; autocannon 2 connections${cpuNote(missServer)}`,
        sharpRate,
      ),
      {
        name: 'miss: imgproxy, published (reference)',
        unit: 'req/s',
        median: IMGPROXY_REQ_S,
        min: IMGPROXY_REQ_S,
        max: IMGPROXY_REQ_S,
        ratio: missRate / IMGPROXY_REQ_S,
        conditions:
          'not measured: imgproxy ~80 req/s, 2 vCPU cloud machine, ~2K-px photos to 512 px ' +
          'JPEG from the original, 2 concurrent clients; darkroom resizes from its stored ' +
          `"${source}" rendition instead; ratio = darkroom miss / 80`,
      },
    )
    printTable(
      'images: /image route (higher req/s is better; ratio = darkroom / same-run baseline)',
      rowsOut,
    )
    writeJson('images', rowsOut)
    return rowsOut
  } finally {
    await baseline?.stop()
    await server.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
