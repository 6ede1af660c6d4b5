import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { makeJpeg, photosOf } from '@darkroom/core/testing'
import {
  REPO_ROOT,
  Prng,
  crashSeed,
  sha256,
  startServerChild,
  type ServerChild,
} from '../crash/crash-harness.js'
import { makeClient, uploadForm } from './harness.js'

/**
 * `npm run test:load`: a bounded load test of the real server (a child process on 127.0.0.1,
 * its own temp DATA_DIR). `LOAD_CLIENTS` (default 50) clients loop for `LOAD_SECONDS`
 * (default 60) over a mix of tRPC FormData uploads, tus uploads, lists, gets, preset variant
 * fetches and on-the-fly image fetches. It records every status and latency, polls the
 * server's RSS, then checks that every acknowledged upload is listed with its sha256. It prints
 * a table, writes `test-artifacts/load.json`, and exits 1 on any 5xx, network error or lost
 * upload.
 */

const SECONDS = Number(process.env.LOAD_SECONDS ?? 60)
const CLIENTS = Number(process.env.LOAD_CLIENTS ?? 50)

const KINDS = ['upload', 'tus', 'list', 'get', 'variant', 'image'] as const
type Kind = (typeof KINDS)[number]
/** Share of each kind in the mix (weights, summed to 100). */
const MIX: Record<Kind, number> = { upload: 12, tus: 4, list: 24, get: 24, variant: 18, image: 18 }

interface KindStats {
  latencies: number[]
  statuses: Record<string, number>
  /** HTTP requests made (a tus upload is two). */
  requests: number
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

/**
 * A unique JPEG without a new encode: a COM segment naming `n` right after SOI keeps the file
 * valid and makes its bytes (and sha256) unique, so no upload is skipped as a duplicate.
 */
function uniqueJpeg(base: Buffer, n: number): Buffer {
  const text = Buffer.from(`darkroom load ${n}`)
  const segment = Buffer.alloc(4 + text.byteLength)
  segment.writeUInt16BE(0xfffe, 0)
  segment.writeUInt16BE(2 + text.byteLength, 2)
  text.copy(segment, 4)
  return Buffer.concat([base.subarray(0, 2), segment, base.subarray(2)])
}

async function main(): Promise<number> {
  const seed = crashSeed({ CRASH_SEED: process.env.LOAD_SEED })
  const rng = new Prng(seed)
  const dataDir = await mkdtemp(join(tmpdir(), 'darkroom-load-'))
  let child: ServerChild | undefined
  try {
    child = await startServerChild({ dataDir })
    const server = child
    const adminKey = server.adminKey
    if (!adminKey) throw new Error('no admin key on the first start')
    const admin = makeClient(server.url, adminKey)

    const bases = await Promise.all([
      makeJpeg({ width: 640, height: 480, seed: 1 }),
      makeJpeg({ width: 480, height: 640, seed: 2 }),
      makeJpeg({ width: 800, height: 600, seed: 3 }),
    ])
    let counter = 0
    const nextImage = () => uniqueJpeg(bases[counter % bases.length]!, counter++)

    /** Acknowledged uploads: photo id → sha256 of the bytes sent. */
    const acknowledged = new Map<string, string>()
    // Each client is a user of its own (its own key, photos and upload rate bucket), seeded
    // with two photos so that gets and image fetches have something from the start.
    const users = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const { key } = await admin.keys.create.mutate({
          name: `load ${i}`,
          scopes: ['photos.read', 'photos.write'],
          ownerId: `load-user-${i}`,
        })
        const user = {
          auth: { authorization: `Bearer ${key}` },
          client: makeClient(server.url, key),
          ids: [] as string[],
        }
        const datas = [nextImage(), nextImage()]
        const seeded = await user.client.photos.upload.mutate(
          uploadForm(datas.map((data, n) => ({ name: `seed-${n}.jpg`, data }))),
        )
        for (const photo of photosOf(seeded)) {
          acknowledged.set(photo.id, photo.checksum)
          user.ids.push(photo.id)
        }
        return user
      }),
    )
    const seededCount = acknowledged.size
    type User = (typeof users)[number]

    const stats = Object.fromEntries(
      KINDS.map((k): [Kind, KindStats] => [k, { latencies: [], statuses: {}, requests: 0 }]),
    ) as Record<Kind, KindStats>
    const count = (kind: Kind, status: number | string) => {
      const s = stats[kind]
      s.statuses[String(status)] = (s.statuses[String(status)] ?? 0) + 1
      s.requests++
    }
    const failures: string[] = []

    const pickKind = (): Kind => {
      let roll = rng.next() * 100
      for (const kind of KINDS) {
        roll -= MIX[kind]
        if (roll < 0) return kind
      }
      return 'get'
    }

    async function fetchCounted(kind: Kind, url: string, init: RequestInit = {}) {
      const res = await fetch(url, init)
      await res.arrayBuffer()
      count(kind, res.status)
      return res
    }

    async function run(user: User, kind: Kind): Promise<void> {
      const { auth, client, ids } = user
      const id = rng.pick(ids)
      switch (kind) {
        case 'upload': {
          const data = nextImage()
          const form = uploadForm([{ name: `load-${counter}.jpg`, data }])
          try {
            const result = await client.photos.upload.mutate(form)
            count(kind, 200)
            for (const photo of result.uploaded) {
              acknowledged.set(photo.id, sha256(data))
              ids.push(photo.id)
            }
          } catch (error) {
            const status = (error as { data?: { httpStatus?: number } }).data?.httpStatus
            count(kind, status ?? 'network')
            if (status === undefined || status >= 500) failures.push(`upload: ${String(error)}`)
          }
          return
        }
        case 'tus': {
          const data = nextImage()
          const created = await fetchCounted(kind, `${server.url}/files`, {
            method: 'POST',
            headers: {
              ...auth,
              'Tus-Resumable': '1.0.0',
              'Upload-Length': String(data.byteLength),
              'Upload-Metadata': `filename ${Buffer.from('load.jpg').toString('base64')}`,
            },
          })
          const location = created.headers.get('location')
          if (created.status !== 201 || !location) return
          const patched = await fetchCounted(kind, new URL(location, server.url).href, {
            method: 'PATCH',
            headers: {
              ...auth,
              'Tus-Resumable': '1.0.0',
              'Upload-Offset': '0',
              'Content-Type': 'application/offset+octet-stream',
            },
            body: data,
          })
          const photoId = patched.headers.get('darkroom-photo-id')
          if (patched.status === 204 && photoId) {
            acknowledged.set(photoId, sha256(data))
            ids.push(photoId)
          }
          return
        }
        case 'list': {
          const sort = rng.pick(['uploaded', 'filename', 'size', 'position'] as const)
          try {
            await client.photos.list.query({ sort, limit: rng.pick([10, 20, 50]) })
            count(kind, 200)
          } catch (error) {
            const status = (error as { data?: { httpStatus?: number } }).data?.httpStatus
            count(kind, status ?? 'network')
          }
          return
        }
        case 'get': {
          try {
            await client.photos.get.query({ id })
            count(kind, 200)
          } catch (error) {
            const status = (error as { data?: { httpStatus?: number } }).data?.httpStatus
            count(kind, status ?? 'network')
          }
          return
        }
        case 'variant': {
          const variant = rng.pick(['small', 'medium'])
          await fetchCounted(kind, `${server.url}/photos/${id}/${variant}.webp`, { headers: auth })
          return
        }
        case 'image': {
          const w = rng.pick([64, 128, 200, 320, 480])
          const ext = rng.pick(['jpg', 'webp'])
          await fetchCounted(kind, `${server.url}/image/${id}.${ext}?w=${w}`, { headers: auth })
          return
        }
      }
    }

    let peakRssKb = server.rssKb() ?? 0
    const rssTimer = setInterval(() => {
      peakRssKb = Math.max(peakRssKb, server.rssKb() ?? 0)
    }, 250)
    const startedAt = performance.now()
    const deadline = startedAt + SECONDS * 1000
    console.log(`load: ${CLIENTS} clients for ${SECONDS} s against ${server.url} (seed ${seed})`)
    await Promise.all(
      users.map(async (user) => {
        while (performance.now() < deadline) {
          const kind = pickKind()
          const t0 = performance.now()
          try {
            await run(user, kind)
          } catch (error) {
            count(kind, 'network')
            failures.push(`${kind}: ${String(error)}`)
          }
          stats[kind].latencies.push(performance.now() - t0)
        }
      }),
    )
    const elapsedS = (performance.now() - startedAt) / 1000
    clearInterval(rssTimer)
    peakRssKb = Math.max(peakRssKb, server.peakRssKb() ?? 0)

    // Every acknowledged upload is there afterwards, bytes intact.
    const lost: string[] = []
    let originalsChecked = 0
    for (const user of users) {
      const listed = new Map<string, string>()
      for (let offset = 0; ; offset += 200) {
        const page = await user.client.photos.list.query({ limit: 200, offset })
        for (const p of page.items) listed.set(p.id, p.checksum)
        if (page.items.length < 200) break
      }
      for (const id of user.ids) {
        const sha = acknowledged.get(id)!
        if (listed.get(id) !== sha) {
          lost.push(id)
          continue
        }
        const res = await fetch(`${server.url}/photos/${id}/original.jpg`, { headers: user.auth })
        const body = Buffer.from(await res.arrayBuffer())
        if (res.status !== 200 || sha256(body) !== sha) lost.push(id)
        originalsChecked++
      }
    }

    const rows = KINDS.map((kind) => {
      const s = stats[kind]
      const sorted = [...s.latencies].sort((a, b) => a - b)
      return {
        kind,
        ops: s.latencies.length,
        requests: s.requests,
        p50Ms: Math.round(percentile(sorted, 50) * 10) / 10,
        p99Ms: Math.round(percentile(sorted, 99) * 10) / 10,
        statuses: s.statuses,
      }
    })
    const requests = rows.reduce((sum, r) => sum + r.requests, 0)
    const errors5xx = rows.reduce(
      (sum, r) =>
        sum + Object.entries(r.statuses).reduce((n, [st, c]) => (/^5/.test(st) ? n + c : n), 0),
      0,
    )
    const networkErrors = rows.reduce((sum, r) => sum + (r.statuses.network ?? 0), 0)
    const summary = {
      seed,
      clients: CLIENTS,
      seconds: Math.round(elapsedS * 10) / 10,
      requests,
      requestsPerSecond: Math.round(requests / elapsedS),
      errors5xx,
      networkErrors,
      acknowledgedUploads: acknowledged.size - seededCount,
      seededPhotos: seededCount,
      originalsChecked,
      lostUploads: lost.length,
      peakRssMb: Math.round(peakRssKb / 102.4) / 10,
      kinds: rows,
      node: process.version,
      failures: failures.slice(0, 20),
    }

    console.table(
      rows.map((r) => ({
        kind: r.kind,
        ops: r.ops,
        requests: r.requests,
        'p50 ms': r.p50Ms,
        'p99 ms': r.p99Ms,
        statuses: Object.entries(r.statuses)
          .map(([st, c]) => `${st}:${c}`)
          .join(' '),
      })),
    )
    console.log(
      `load: ${requests} requests in ${summary.seconds} s (${summary.requestsPerSecond}/s), ` +
        `5xx: ${errors5xx}, network errors: ${networkErrors}, acknowledged uploads: ` +
        `${acknowledged.size - seededCount} (lost: ${lost.length}), peak RSS ${summary.peakRssMb} MB`,
    )
    const artifacts = join(REPO_ROOT, 'test-artifacts')
    await mkdir(artifacts, { recursive: true })
    await writeFile(join(artifacts, 'load.json'), `${JSON.stringify(summary, null, 2)}\n`)

    const problems = [
      ...(errors5xx > 0 ? [`${errors5xx} responses were 5xx`] : []),
      ...(networkErrors > 0 ? [`${networkErrors} requests failed on the network`] : []),
      ...(lost.length > 0
        ? [`${lost.length} acknowledged uploads are missing: ${lost.slice(0, 5)}`]
        : []),
      ...(acknowledged.size <= seededCount ? ['no upload was acknowledged'] : []),
    ]
    for (const failure of summary.failures) console.error(`  ${failure}`)
    if (problems.length > 0) {
      console.error(`load: FAILED: ${problems.join('; ')}`)
      if (errors5xx > 0) console.error(server.output().slice(-4000))
      return 1
    }
    console.log('load: passed')
    return 0
  } finally {
    await child?.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  },
)
