import { readFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { createDarkroom } from '@darkroom/core'
import { loadCorpus } from '@darkroom/core/testing'
import { createFsBlobStore, createSqliteStore } from '@darkroom/storage'
import { measure, printTable, withPeakRss, writeJson, type Row } from './lib.js'

/**
 * Ingest throughput: the whole `photos.upload` path (sniff, EXIF, hash, variants, thumbhash,
 * hue, durable blobs, row) on SQLite + a folder, against a naive baseline in the same run: three
 * independent sharp pipelines per photo, each decoding the full original.
 */
sharp.cache(false)
const PRESETS = [2048, 1024, 320]

async function makePhoto(width: number, height: number, seed: number): Promise<Buffer> {
  // Smooth, photo-like content: upscaled noise compresses and decodes like a real photo.
  const small = await sharp({
    create: {
      width: Math.round(width / 10),
      height: Math.round(height / 10),
      channels: 3,
      background: '#000000',
      noise: { type: 'gaussian', mean: 110 + seed, sigma: 50 },
    },
  })
    .png()
    .toBuffer()
  return sharp(small).resize(width, height, { kernel: 'cubic' }).jpeg({ quality: 90 }).toBuffer()
}

async function naive(files: Buffer[], format: 'webp' | 'jpeg', concurrency: number) {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < files.length) {
        const data = files[next++]!
        await Promise.all(
          PRESETS.map((edge) =>
            sharp(data)
              .rotate()
              .resize(edge, edge, { fit: 'inside', withoutEnlargement: true })
              .toFormat(format, { quality: 80 })
              .toBuffer(),
          ),
        )
      }
    }),
  )
}

async function engine(files: Buffer[], format: 'webp' | 'jpeg', concurrency: number) {
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
  try {
    const me = { ownerId: 'bench', scopes: ['photos.write', 'photos.read'] }
    const { uploaded, skipped } = await darkroom.photos.upload(me, {
      files: files.map((data, i) => ({ filename: `${i}.jpg`, data })),
    })
    if (skipped.length > 0) throw new Error(`skipped: ${JSON.stringify(skipped.slice(0, 3))}`)
    return uploaded.length
  } finally {
    await darkroom.close()
    await rm(dir, { recursive: true, force: true })
  }
}

async function rate(files: Buffer[], fn: () => Promise<unknown>) {
  let peak = 0
  const m = await measure(3, async () => {
    const start = performance.now()
    const { peakRssMb } = await withPeakRss(fn)
    peak = Math.max(peak, peakRssMb)
    return files.length / ((performance.now() - start) / 1000)
  })
  return { ...m, peak }
}

export async function run(): Promise<Row[]> {
  const sets: Array<{ label: string; files: Buffer[] }> = []
  console.log('generating 24 MP and 12 MP JPEGs ...')
  sets.push({
    label: '24MP',
    files: await Promise.all([0, 1, 2, 3, 4, 5].map((i) => makePhoto(6000, 4000, i))),
  })
  sets.push({
    label: '12MP',
    files: await Promise.all([0, 1, 2, 3, 4, 5].map((i) => makePhoto(4000, 3000, i))),
  })
  const corpus = loadCorpus()
  if (corpus) {
    const jpegs = corpus.entries.filter(
      (e) => e.format === 'jpeg' && e.expect === 'ok' && !e.overPixelLimit,
    )
    sets.push({
      label: `corpus JPEGs (${jpegs.length})`,
      files: await Promise.all(jpegs.map((e) => readFile(join(corpus.dir, e.path)))),
    })
  } else {
    console.log('shared/corpus not found: corpus case skipped')
  }
  const rows: Row[] = []
  for (const { label, files } of sets) {
    for (const format of ['webp', 'jpeg'] as const) {
      for (const concurrency of [1, 2]) {
        const base = await rate(files, () => naive(files, format, concurrency))
        const ours = await rate(files, () => engine(files, format, concurrency))
        const conditions = `${files.length} files, ${format}, concurrency ${concurrency}, 3 runs`
        rows.push({
          name: `naive 3 pipelines ${label}`,
          unit: 'photos/s',
          median: base.median,
          min: base.min,
          max: base.max,
          peakRssMb: base.peak,
          conditions,
        })
        rows.push({
          name: `darkroom upload ${label}`,
          unit: 'photos/s',
          median: ours.median,
          min: ours.min,
          max: ours.max,
          ratio: ours.median / base.median,
          peakRssMb: ours.peak,
          conditions,
        })
      }
    }
  }
  printTable('ingest: photos per second (ratio = darkroom / naive baseline, same run)', rows)
  writeJson('ingest', rows)
  return rows
}
