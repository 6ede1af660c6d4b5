/**
 * Uploads per second through one server process, then through two behind a client-side round
 * robin, on one Postgres (a fresh schema, dropped at the end) and one shared blob folder (or the
 * bucket of `BLOB_URL=s3://...` when set). Each upload is one `photos.upload` (tRPC FormData)
 * of one JPEG, ingested with its three variants.
 *
 *   node --import tsx bench/scale.ts            # 20 s per case, 8 uploads in flight
 *   SCALE_SECONDS=10 SCALE_CONCURRENCY=4 node --import tsx bench/scale.ts
 *
 * Needs Postgres at DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test). Not part of
 * `npm run bench` (it starts server processes and needs Postgres).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { createPostgresStore } from '../packages/storage/src/metadata/postgres.js'
import { createApiKey } from '../packages/trpc/src/index.js'
import { makeClient, uploadForm } from '../apps/server/src/testing/harness.js'
import { createTestSchema } from '../apps/server/src/testing/postgres.js'
import { startServerProcess, type ServerProcess } from '../apps/server/src/testing/processes.js'

const seconds = Number(process.env.SCALE_SECONDS ?? 20)
/** Upload number, across runs: every upload's bytes differ (no duplicate skips). */
let next = 0
const concurrency = Number(process.env.SCALE_CONCURRENCY ?? 8)

/** A 1600x1200 JPEG with some structure (a gradient and a random tint), distinct per seed. */
async function photo(seed: number): Promise<Buffer> {
  const w = 1600
  const h = 1200
  const pixels = Buffer.alloc(w * h * 3)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3
      pixels[i] = (x + seed * 7) & 0xff
      pixels[i + 1] = (y + seed * 13) & 0xff
      pixels[i + 2] = (x ^ y ^ seed) & 0xff
    }
  }
  return sharp(pixels, { raw: { width: w, height: h, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer()
}

async function run(urls: string[], key: string, label: string, files: Buffer[], s = seconds) {
  const clients = urls.map((url) => makeClient(url, key))
  let done = 0
  let failed = 0
  const errors = new Map<string, number>()
  const deadline = Date.now() + s * 1000
  const started = Date.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const n = next++
        const client = clients[n % clients.length]!
        // A distinct byte in the JPEG comment-free tail: no duplicate skips.
        const data = Buffer.concat([files[n % files.length]!, Buffer.from(`\n${n}`)])
        try {
          const result = await client.photos.upload.mutate(uploadForm([{ name: `${n}.jpg`, data }]))
          if (result.uploaded.length === 1) done++
          else {
            failed++
            const message = `skipped: ${result.skipped[0]?.message ?? '?'}`
            errors.set(message, (errors.get(message) ?? 0) + 1)
          }
        } catch (error) {
          failed++
          const message = error instanceof Error ? error.message : String(error)
          errors.set(message, (errors.get(message) ?? 0) + 1)
        }
      }
    }),
  )
  const elapsed = (Date.now() - started) / 1000
  const rate = done / elapsed
  console.log(
    `${label}: ${done} uploads in ${elapsed.toFixed(1)} s = ${rate.toFixed(1)} uploads/s` +
      (failed ? ` (${failed} failed)` : ''),
  )
  for (const [message, count] of errors) console.log(`  ${count} x ${message.slice(0, 200)}`)
  return rate
}

const db = await createTestSchema('drbench')
const shared = await mkdtemp(join(tmpdir(), 'darkroom-scale-bench-'))
const env: Record<string, string> = {
  ...db.env,
  BLOB_URL: process.env.BLOB_URL ?? join(shared, 'blobs'),
  UPLOADS_DIR: join(shared, 'uploads'),
  LOG_LEVEL: 'error',
}
const processes: ServerProcess[] = []
try {
  const files = await Promise.all([1, 2, 3, 4].map(photo))
  console.log(
    `scale bench: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${concurrency} in flight, ` +
      `${seconds} s per case, JPEG 1600x1200 (${Math.round(files[0]!.length / 1024)} kB)`,
  )
  const a = await startServerProcess({ ...env, DATA_DIR: join(shared, 'a') })
  processes.push(a)
  const store = createPostgresStore({ connectionString: db.databaseUrl, schema: db.schema })
  const { key } = await createApiKey(store.server, {
    ownerId: 'bench',
    name: 'bench',
    scopes: ['photos.read', 'photos.write'],
  })
  await store.close()
  await run([a.url], key, 'warm-up (1 process)', files, 3)
  const one = await run([a.url], key, 'one process', files)
  const b = await startServerProcess({ ...env, DATA_DIR: join(shared, 'b') })
  processes.push(b)
  const two = await run([a.url, b.url], key, 'two processes', files)
  console.log(`two / one = ${(two / one).toFixed(2)}`)
} finally {
  for (const p of processes) await p.stop()
  await db.drop()
  await rm(shared, { recursive: true, force: true })
}
