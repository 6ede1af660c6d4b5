import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp, { type Sharp } from 'sharp'
import { rgbaToThumbHash } from 'thumbhash'
import { createDarkroom } from '@darkroom/core'
import { createFsBlobStore, createSqliteStore } from '@darkroom/storage'
import { loadCorpus } from '../packages/core/src/testing/corpus.js'
import { QUICK, printTable, size, stats, writeJson, type Row } from './lib.js'
import { makePhoto, uniqueCopy } from './photos.js'

/**
 * Ingest throughput: the whole `photos.upload` path (sniff, EXIF, hash, variants, thumbhash, hue,
 * durable blobs, row) on SQLite + a folder, against two sharp-only baselines in the same run,
 * interleaved round by round:
 * - naive: three independent pipelines per photo (2048, 1024, 320), each decoding the original;
 * - ceiling: the best sharp alone does for the same outputs: one decode at the largest DCT scale
 *   libjpeg allows (`file.jpg[shrink=N]`, read from a file written beforehand), turned upright,
 *   to a raw 2048 bitmap; 1024, 320 and the 100 px thumbhash input derived from that bitmap.
 * All three encode with the engine's settings (quality 80; JPEG progressive).
 * Then a batch of BATCH (default 500) 12 MP photos (JPEG variants, to keep the run short) through
 * a fresh process at concurrency 2 with MALLOC_ARENA_MAX=2, as `npm start` runs the server, and a
 * eighth of it with glibc's default arenas: photos/s, peak RSS and CPU utilisation over the batch
 * (see bench/ingest-batch.ts).
 */
sharp.cache(false)
const PRESETS = [2048, 1024, 320]
const ROUNDS = size('ROUNDS', 2, 1)
const FILES = size('FILES', 6, 2)
const BATCH = size('BATCH', 500, 4)
type Format = 'webp' | 'jpeg'

function encode(pipeline: Sharp, format: Format) {
  return format === 'jpeg'
    ? pipeline.jpeg({ quality: 80, progressive: true })
    : pipeline.webp({ quality: 80 })
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>) {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!)
    }),
  )
}

async function naive(files: Buffer[], format: Format, concurrency: number) {
  await pool(files, concurrency, (data) =>
    Promise.all(
      PRESETS.map((edge) =>
        encode(
          sharp(data).rotate().resize(edge, edge, { fit: 'inside', withoutEnlargement: true }),
          format,
        ).toBuffer(),
      ),
    ),
  )
}

/** The largest DCT scale whose decode still covers `edge` (what sharp alone would not pick). */
function dctScale(width: number, height: number, edge: number): number {
  const long = Math.max(width, height)
  return [8, 4, 2].find((factor) => Math.floor(long / factor) >= edge) ?? 1
}

interface OnDisk {
  path: string
  width: number
  height: number
}

async function ceiling(files: OnDisk[], format: Format, concurrency: number) {
  await pool(files, concurrency, async ({ path, width, height }) => {
    const factor = dctScale(width, height, PRESETS[0]!)
    const base = await sharp(factor > 1 ? `${path}[shrink=${factor}]` : path)
      .rotate()
      .resize(PRESETS[0], PRESETS[0], { fit: 'inside', withoutEnlargement: true })
      .raw()
      .toBuffer({ resolveWithObject: true })
    const raw = { width: base.info.width, height: base.info.height, channels: base.info.channels }
    const fromBase = () => sharp(base.data, { raw })
    const smaller = PRESETS.slice(1).map((edge) =>
      fromBase()
        .resize(edge, edge, { fit: 'inside', withoutEnlargement: true })
        .raw()
        .toBuffer({ resolveWithObject: true }),
    )
    const thumb = smaller[smaller.length - 1]!.then(({ data, info }) =>
      sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
        .resize(100, 100, { fit: 'inside' })
        .ensureAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true })
        .then((t) => rgbaToThumbHash(t.info.width, t.info.height, t.data)),
    )
    await Promise.all([
      encode(fromBase(), format).toBuffer(),
      ...smaller.map((bitmap) =>
        bitmap.then(({ data, info }) =>
          encode(
            sharp(data, {
              raw: { width: info.width, height: info.height, channels: info.channels },
            }),
            format,
          ).toBuffer(),
        ),
      ),
      thumb,
    ])
  })
}

/**
 * The engine on SQLite + a folder, opened once per case (outside the timing). Each round uploads
 * unique copies of the files (same pixels, new checksum), so nothing is skipped as a duplicate.
 */
async function openEngine(format: Format, concurrency: number) {
  const dir = await mkdtemp(join(tmpdir(), 'darkroom-bench-'))
  const darkroom = await createDarkroom({
    store: createSqliteStore({ filename: join(dir, 'db.sqlite') }),
    blobs: createFsBlobStore({ root: join(dir, 'blobs') }),
    config: {
      concurrency,
      variants: { format },
      limits: { maxFileBytes: 200 * 1024 * 1024, maxInputPixels: 300_000_000 },
    },
  })
  const me = { ownerId: 'bench', scopes: ['photos.write', 'photos.read'] }
  return {
    async upload(files: Buffer[]) {
      const { uploaded, skipped } = await darkroom.photos.upload(me, {
        files: files.map((data, i) => ({ filename: `${i}.jpg`, data })),
      })
      if (skipped.length > 0) throw new Error(`skipped: ${JSON.stringify(skipped.slice(0, 3))}`)
      return uploaded.length
    },
    async close() {
      await darkroom.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

async function photoSets(dir: string) {
  const sets: Array<{ label: string; files: Buffer[]; onDisk: OnDisk[] }> = []
  const [w24, h24, w12, h12] = QUICK ? [1200, 800, 1000, 750] : [6000, 4000, 4000, 3000]
  console.log(`generating ${FILES} JPEGs of ${w24}x${h24} and ${w12}x${h12} ...`)
  const seeds = Array.from({ length: FILES }, (_, i) => i)
  const make = async (label: string, files: Buffer[]) => {
    const onDisk = await Promise.all(
      files.map(async (data, i) => {
        const path = join(dir, `${label}-${i}.jpg`)
        await writeFile(path, data)
        const { width = 0, height = 0 } = await sharp(data).metadata()
        return { path, width, height }
      }),
    )
    sets.push({ label, files, onDisk })
  }
  await make(QUICK ? '1MP' : '24MP', await Promise.all(seeds.map((i) => makePhoto(w24, h24, i))))
  await make(QUICK ? '0.75MP' : '12MP', await Promise.all(seeds.map((i) => makePhoto(w12, h12, i))))
  const corpus = QUICK ? null : loadCorpus()
  if (corpus) {
    const jpegs = corpus.entries.filter(
      (e) => e.format === 'jpeg' && e.expect === 'ok' && !e.overPixelLimit,
    )
    await make(
      `corpus JPEGs (${jpegs.length})`,
      await Promise.all(jpegs.map((e) => readFile(join(corpus.dir, e.path)))),
    )
  } else if (!QUICK) {
    console.log('shared/corpus not found: corpus case skipped')
  }
  return sets
}

/**
 * Runs bench/ingest-batch.ts in a fresh process, so its RSS is the engine's alone. `arenas`:
 * glibc's MALLOC_ARENA_MAX for it (what `npm start` sets, 2), or null for glibc's default.
 */
async function batch(
  count: number,
  format: Format,
  arenas: string | null,
): Promise<Record<string, number>> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BATCH: String(count),
    FORMAT: format,
    WIDTH: QUICK ? '1000' : '4000',
    HEIGHT: QUICK ? '750' : '3000',
  }
  if (arenas === null) delete env.MALLOC_ARENA_MAX
  else env.MALLOC_ARENA_MAX = arenas
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'ingest-batch.ts')],
    { env, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`ingest-batch exited with ${code}: ${out}`)
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>
}

export async function run(): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'darkroom-bench-ingest-'))
  const rows: Row[] = []
  try {
    const sets = await photoSets(dir)
    const formats: Format[] = QUICK ? ['jpeg'] : ['webp', 'jpeg']
    for (const { label, files, onDisk } of QUICK ? sets.slice(0, 1) : sets) {
      for (const format of formats) {
        for (const concurrency of QUICK ? [2] : [1, 2]) {
          const rates = { naive: [] as number[], ceiling: [] as number[], engine: [] as number[] }
          const timed = async (list: number[], fn: () => Promise<unknown>) => {
            const start = performance.now()
            await fn()
            list.push(files.length / ((performance.now() - start) / 1000))
          }
          const ours = await openEngine(format, concurrency)
          try {
            for (let round = 0; round < ROUNDS; round++) {
              const copies = files.map((data, i) => uniqueCopy(data, round * files.length + i))
              await timed(rates.naive, () => naive(files, format, concurrency))
              await timed(rates.ceiling, () => ceiling(onDisk, format, concurrency))
              await timed(rates.engine, () => ours.upload(copies))
            }
          } finally {
            await ours.close()
          }
          const base = stats(rates.naive)
          const best = stats(rates.ceiling)
          const engine = stats(rates.engine)
          const conditions = `${files.length} files, ${format}, concurrency ${concurrency}, ${ROUNDS} interleaved rounds`
          console.log(
            `${label}, ${format}, concurrency ${concurrency}: naive ${base.median.toFixed(2)}, ceiling ${best.median.toFixed(2)}, darkroom ${engine.median.toFixed(2)} photos/s`,
          )
          rows.push({ name: `naive 3 pipelines, ${label}`, unit: 'photos/s', ...base, conditions })
          rows.push({
            name: `sharp ceiling, ${label}`,
            unit: 'photos/s',
            ...best,
            ratio: best.median / base.median,
            conditions: `${conditions}; ratio = ceiling / naive`,
          })
          rows.push({
            name: `darkroom upload vs naive, ${label}`,
            unit: 'photos/s',
            ...engine,
            ratio: engine.median / base.median,
            conditions: `${conditions}; ratio = darkroom / naive`,
          })
          rows.push({
            name: `darkroom upload vs ceiling, ${label}`,
            unit: 'photos/s',
            ...engine,
            ratio: engine.median / best.median,
            conditions: `${conditions}; ratio = darkroom / ceiling`,
          })
        }
      }
    }
    const megapixels = QUICK ? '0.75' : '12'
    const batches = [
      { arenas: '2', count: BATCH, label: 'MALLOC_ARENA_MAX=2 (as npm start)' },
      { arenas: null, count: Math.ceil(BATCH / 8), label: "glibc's default arenas" },
    ]
    for (const { arenas, count, label } of batches) {
      const result = await batch(count, 'jpeg', arenas)
      const conditions = `${count} ${megapixels} MP JPEGs to JPEG variants, concurrency 2, ${label}, fresh process, one upload call per photo (4 in flight)`
      console.log(`batch, ${label}: ${JSON.stringify(result)}`)
      rows.push({
        name: `batch: darkroom upload, ${label}`,
        unit: 'photos/s',
        median: result.photosPerSecond!,
        min: result.photosPerSecond!,
        max: result.photosPerSecond!,
        peakRssMb: result.peakRssMb,
        conditions,
      })
      rows.push({
        name: `batch: CPU utilisation of 2 cores, ${label}`,
        unit: '%',
        median: result.cpuMedian!,
        min: result.cpuMin!,
        max: result.cpuMax!,
        conditions: `${conditions}; per 1 s window from the first to the last photo; overall ${result.cpuOverall}%`,
      })
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  printTable('ingest: photos per second (ratios against baselines measured in the same run)', rows)
  writeJson('ingest', rows)
  return rows
}
