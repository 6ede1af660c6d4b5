import { createReadStream } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp, { type Sharp } from 'sharp'
import * as tus from 'tus-js-client'
import { loadCorpus } from '../packages/core/src/testing/corpus.js'
import { createDarkroomClient, type DarkroomClient } from '../apps/example/src/client.js'
import { startChild, SERVER_MAIN, type Child } from './children.js'
import { QUICK, printTable, size, stats, writeJson, type Row } from './lib.js'
import { makePhoto, uniqueCopy } from './photos.js'

/**
 * The wedding: WEDDING_PHOTOS (default 2,000) 24 MP JPEGs uploaded through `npm start`'s server
 * (a child process, MALLOC_ARENA_MAX=2) the way a photographer does it with the example CLI
 * (`upload <folder>`): tus-js-client, 8 MiB chunks, two files at once, read from files on disk.
 * A poller lists the photos (`photos.list`, pages of 200) every POLL_MS and records when every
 * photo is listed with `small` and `medium`, and when every configured variant exists; the
 * server's peak RSS is its VmHWM. The photos are a few generated 24 MP JPEGs (bench/photos.ts)
 * repeated with a unique COM segment each, so no upload is skipped as a duplicate.
 *
 * Baseline, measured in the same run before and after the upload: the decode-only floor, sharp
 * decoding the same files at 1/2 DCT scale (`file.jpg[shrink=2]`, the decode the engine does for
 * a 2048 px variant) to a raw bitmap, two files at once: no pipeline that decodes each photo can
 * beat it.
 *
 * WEDDING_COMPARE_EFFORT=4 also runs the wedding with VARIANT_EFFORT=4 (libwebp's default, the
 * engine's before 2 was), after the default one, in the same run.
 *
 * Then the encoder-effort lever, in-process: the engine's pipeline (one shrink-on-load decode to
 * 2048 px; 1024 and 320 derived from that bitmap; WebP at quality 80) at the WebP efforts in
 * SETTINGS, two photos at once, rounds interleaved: photos/s, bytes, and SSIM (greyscale, 8x8
 * windows at a stride of 4) of each encode against the bitmap it encoded, on the bench photos and
 * on the corpus JPEGs when shared/corpus is there.
 */
sharp.cache(false)
const MiB = 1024 * 1024
const PHOTOS = size('WEDDING_PHOTOS', 2000, 6)
/** Distinct pictures behind the copies. */
const DISTINCT = Math.min(PHOTOS, size('WEDDING_DISTINCT', 8, 2))
const [WIDTH, HEIGHT] = QUICK ? [1200, 800] : [6000, 4000]
/** The CLI's defaults: `--parallel 2`, `--chunk-size 8MiB`. */
const PARALLEL = size('WEDDING_PARALLEL', 2, 2)
const CHUNK = 8 * MiB
const POLL_MS = size('WEDDING_POLL_MS', 500, 100)
/** Files the floor decodes (each pass), at most the wedding's. */
const FLOOR_FILES = Math.min(PHOTOS, size('WEDDING_FLOOR_FILES', 100, 6))
const COMPARE_EFFORT = process.env.WEDDING_COMPARE_EFFORT || null
const EFFORT_FILES = size('EFFORT_FILES', 8, 2)
const EFFORT_ROUNDS = size('EFFORT_ROUNDS', 2, 1)
/** WebP effort of the 2048 / 1024 / 320 variants: libwebp's default, the engine's, and faster. */
const SETTINGS = [
  { label: '4/4/4 (libwebp default)', efforts: [4, 4, 4] },
  { label: '2/2/4 (default)', efforts: [2, 2, 4] },
  { label: '2/2/2', efforts: [2, 2, 2] },
  { label: '0/0/0', efforts: [0, 0, 0] },
]
const PRESETS = [2048, 1024, 320]
/** What the server promises at upload (see docs/performance.md) and what it renders at all. */
const LISTED_WITH = ['small', 'medium']
const CONFIGURED = ['small', 'medium', 'large']

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>) {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!)
    }),
  )
}

/** The folder a photographer uploads: PHOTOS files named like a camera's. */
async function makeFolder(dir: string): Promise<{ paths: string[]; bytes: number }> {
  console.log(`generating ${DISTINCT} JPEGs of ${WIDTH}x${HEIGHT}, ${PHOTOS} files ...`)
  const distinct = await Promise.all(
    Array.from({ length: DISTINCT }, (_, i) => makePhoto(WIDTH, HEIGHT, i)),
  )
  const paths: string[] = []
  let bytes = 0
  for (let i = 0; i < PHOTOS; i++) {
    const data = uniqueCopy(distinct[i % DISTINCT]!, i)
    const path = join(dir, `DSC_${String(i).padStart(5, '0')}.jpg`)
    await writeFile(path, data)
    paths.push(path)
    bytes += data.byteLength
  }
  return { paths, bytes }
}

/** Decode-only floor: photos/s decoding `paths` at 1/2 DCT scale to raw, two at once. */
async function floor(paths: string[]): Promise<number> {
  const start = performance.now()
  await pool(paths, 2, async (path) => {
    await sharp(`${path}[shrink=2]`).raw().toBuffer()
  })
  return paths.length / ((performance.now() - start) / 1000)
}

function tusUpload(url: string, key: string, path: string, bytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(createReadStream(path), {
      endpoint: `${url}/files`,
      headers: { authorization: `Bearer ${key}` },
      chunkSize: CHUNK,
      uploadSize: bytes,
      retryDelays: [0, 1_000, 3_000, 5_000],
      storeFingerprintForResuming: false,
      metadata: { filename: path.slice(path.lastIndexOf('/') + 1) },
      onSuccess: ({ lastResponse }) => {
        const id = lastResponse.getHeader('Darkroom-Photo-Id')
        if (id) resolve(id)
        else reject(new Error(`no photo id for ${path}`))
      },
      onError: reject,
    })
    upload.start()
  })
}

interface Progress {
  listed: number
  complete: number
}

/** Every photo the owner sees, counted by which variants it has. */
async function census(client: DarkroomClient): Promise<Progress> {
  let listed = 0
  let complete = 0
  let cursor: string | undefined
  do {
    const page = await client.photos.list.query({ limit: 200, cursor })
    for (const photo of page.items) {
      const variants = photo.variants as Record<string, string | null>
      if (LISTED_WITH.every((name) => variants[name])) listed++
      if (CONFIGURED.every((name) => variants[name])) complete++
    }
    cursor = page.nextCursor ?? undefined
  } while (cursor)
  return { listed, complete }
}

function vmHwmMb(pid: number | undefined): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then(
    (status) => Math.round(Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024),
    () => 0,
  )
}

interface Wedding {
  listedMs: number
  completeMs: number
  uploadsMs: number
  peakRssMb: number
  cpuMs: number | null
}

async function wedding(dir: string, paths: string[], env: Record<string, string>) {
  const server: Child = await startChild([SERVER_MAIN], {
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: join(dir, 'data'),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_UPLOADS_PER_MINUTE: '0',
    MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
    ...env,
  })
  try {
    const key = await server.adminKey()
    const client = createDarkroomClient({ baseUrl: server.url, apiKey: key })
    const sizes = await Promise.all(paths.map(async (path) => (await stat(path)).size))
    const cpuBefore = await server.cpuMs()
    const start = performance.now()
    let listedMs = 0
    let completeMs = 0
    let done = false
    const poller = (async () => {
      while (!done) {
        const { listed, complete } = await census(client)
        const at = performance.now() - start
        if (!listedMs && listed === paths.length) listedMs = at
        if (!completeMs && complete === paths.length) completeMs = at
        if (listedMs && completeMs) return
        await new Promise((resolve) => setTimeout(resolve, POLL_MS))
      }
    })()
    // Rethrown where it is awaited; the upload may fail first and stop the server under it.
    poller.catch(() => undefined)
    const ids = new Set<string>()
    const queue = paths.map((path, i) => ({ path, bytes: sizes[i]! }))
    await pool(queue, PARALLEL, async ({ path, bytes }) => {
      ids.add(await tusUpload(server.url, key, path, bytes))
    })
    const uploadsMs = performance.now() - start
    if (ids.size !== paths.length) throw new Error(`${ids.size} photos for ${paths.length} files`)
    // Lazy variants may still be rendering: wait for them, with a bound.
    const deadline = performance.now() + Math.max(60_000, uploadsMs)
    while (!(listedMs && completeMs) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
    done = true
    await poller
    if (!listedMs || !completeMs) throw new Error('not every photo got its variants in time')
    const cpuAfter = await server.cpuMs()
    const result: Wedding = {
      listedMs,
      completeMs,
      uploadsMs,
      peakRssMb: await vmHwmMb(server.process.pid),
      cpuMs: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore,
    }
    return result
  } finally {
    await server.stop('SIGKILL')
    await rm(join(dir, 'data'), { recursive: true, force: true })
  }
}

/** Mean SSIM of two greyscale images of the same size, 8x8 windows at a stride of 4. */
export function ssim(a: Uint8Array, b: Uint8Array, width: number, height: number): number {
  const c1 = (0.01 * 255) ** 2
  const c2 = (0.03 * 255) ** 2
  let sum = 0
  let windows = 0
  for (let y = 0; y + 8 <= height; y += 4) {
    for (let x = 0; x + 8 <= width; x += 4) {
      let sa = 0
      let sb = 0
      let saa = 0
      let sbb = 0
      let sab = 0
      for (let j = 0; j < 8; j++) {
        let k = (y + j) * width + x
        for (let i = 0; i < 8; i++, k++) {
          const va = a[k]!
          const vb = b[k]!
          sa += va
          sb += vb
          saa += va * va
          sbb += vb * vb
          sab += va * vb
        }
      }
      const ma = sa / 64
      const mb = sb / 64
      const varA = (saa - 64 * ma * ma) / 63
      const varB = (sbb - 64 * mb * mb) / 63
      const cov = (sab - 64 * ma * mb) / 63
      sum += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (varA + varB + c2))
      windows++
    }
  }
  return windows > 0 ? sum / windows : 1
}

interface Raw {
  data: Buffer
  width: number
  height: number
  channels: 1 | 2 | 3 | 4
}

const fromRaw = ({ data, width, height, channels }: Raw) =>
  sharp(data, { raw: { width, height, channels } })

async function toRaw(pipeline: Sharp): Promise<Raw> {
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true })
  return { data, width: info.width, height: info.height, channels: info.channels }
}

/** The engine's bitmaps for one JPEG: 2048 from a shrink-on-load decode, 1024 and 320 from it. */
async function bitmapsOf(path: string, width: number, height: number): Promise<Raw[]> {
  const long = Math.max(width, height)
  const factor = [8, 4, 2].find((f) => Math.floor(long / f) >= PRESETS[0]!) ?? 1
  const box = { fit: 'inside', withoutEnlargement: true } as const
  const base = await toRaw(
    sharp(factor > 1 ? `${path}[shrink=${factor}]` : path)
      .rotate()
      .resize(PRESETS[0], PRESETS[0], box),
  )
  const smaller = await Promise.all(
    PRESETS.slice(1).map((edge) => toRaw(fromRaw(base).resize(edge, edge, box))),
  )
  return [base, ...smaller]
}

const encode = (bitmap: Raw, effort: number): Promise<Buffer> =>
  fromRaw(bitmap).webp({ quality: 80, effort }).toBuffer()

interface EffortFile {
  path: string
  width: number
  height: number
}

async function onDisk(paths: string[]): Promise<EffortFile[]> {
  return Promise.all(
    paths.map(async (path) => {
      const { width = 0, height = 0 } = await sharp(path).metadata()
      return { path, width, height }
    }),
  )
}

/** Photos/s of the whole pipeline (decode, resizes, three encodes) at `efforts`, two at once. */
async function renderRate(files: EffortFile[], efforts: number[]): Promise<number> {
  const start = performance.now()
  await pool(files, 2, async ({ path, width, height }) => {
    const bitmaps = await bitmapsOf(path, width, height)
    await Promise.all(bitmaps.map((bitmap, i) => encode(bitmap, efforts[i]!)))
  })
  return files.length / ((performance.now() - start) / 1000)
}

/** Per setting: bytes of the three variants, and the SSIM of each against its bitmap. */
async function quality(files: EffortFile[]) {
  const result = SETTINGS.map(() => ({ bytes: 0, ssim: PRESETS.map(() => 0) }))
  for (const { path, width, height } of files) {
    const bitmaps = await bitmapsOf(path, width, height)
    const greys = await Promise.all(bitmaps.map((b) => toRaw(fromRaw(b).greyscale())))
    for (const [s, { efforts }] of SETTINGS.entries()) {
      const entry = result[s]!
      for (let i = 0; i < bitmaps.length; i++) {
        const encoded = await encode(bitmaps[i]!, efforts[i]!)
        entry.bytes += encoded.byteLength
        const grey = await toRaw(sharp(encoded).greyscale())
        const ref = greys[i]!
        entry.ssim[i]! += ssim(ref.data, grey.data, ref.width, ref.height) / files.length
      }
    }
  }
  return result
}

async function effortRows(paths: string[]): Promise<Row[]> {
  const files = await onDisk(paths)
  const rates = SETTINGS.map(() => [] as number[])
  for (let round = 0; round < EFFORT_ROUNDS; round++) {
    // The order turns each round, so no setting always runs first.
    for (let i = 0; i < SETTINGS.length; i++) {
      const s = (i + round) % SETTINGS.length
      rates[s]!.push(await renderRate(files, SETTINGS[s]!.efforts))
    }
  }
  const sets: Array<{ label: string; files: EffortFile[] }> = [
    { label: `bench ${WIDTH}x${HEIGHT}`, files },
  ]
  const corpus = QUICK ? null : loadCorpus()
  if (corpus) {
    const jpegs = corpus.entries.filter(
      (e) => e.format === 'jpeg' && e.expect === 'ok' && !e.overPixelLimit,
    )
    sets.push({
      label: `corpus JPEGs (${jpegs.length})`,
      files: await onDisk(jpegs.map((e) => join(corpus.dir, e.path))),
    })
  }
  const rows: Row[] = []
  const base = stats(rates[0]!)
  const conditions = `${files.length} x ${WIDTH}x${HEIGHT} JPEGs, shrink-on-load decode, 2048/1024/320 WebP q80, two at once, ${EFFORT_ROUNDS} interleaved rounds`
  for (const [s, { label }] of SETTINGS.entries()) {
    const rate = stats(rates[s]!)
    rows.push({
      name: `WebP effort ${label}: decode + 3 variants`,
      unit: 'photos/s',
      ...rate,
      ratio: rate.median / base.median,
      conditions: `${conditions}; ratio = against effort 4/4/4`,
    })
  }
  for (const { label, files: set } of sets) {
    const measured = await quality(set)
    const reference = measured[0]!
    for (const [s, { label: setting }] of SETTINGS.entries()) {
      const { bytes, ssim: values } = measured[s]!
      const delta = values.map((v, i) => (v - reference.ssim[i]!).toFixed(4)).join(' / ')
      rows.push({
        name: `WebP effort ${setting}: bytes, ${label}`,
        unit: 'KB/photo',
        median: bytes / set.length / 1000,
        min: bytes / set.length / 1000,
        max: bytes / set.length / 1000,
        ratio: bytes / reference.bytes,
        conditions: `all three variants; ratio = against effort 4/4/4`,
      })
      const loss = values.map((v) => (1 - v) * 1000)
      const referenceLoss = reference.ssim.reduce((sum, v) => sum + (1 - v) * 1000, 0) / 3
      const meanLoss = loss.reduce((sum, v) => sum + v, 0) / loss.length
      rows.push({
        name: `WebP effort ${setting}: (1 - SSIM) x 1000, ${label}`,
        unit: 'loss',
        median: meanLoss,
        min: Math.min(...loss),
        max: Math.max(...loss),
        ratio: meanLoss / referenceLoss,
        conditions: `mean of 2048 / 1024 / 320; SSIM ${values.map((v) => v.toFixed(4)).join(' / ')} against the bitmap encoded; minus 4/4/4: ${delta}`,
      })
    }
  }
  return rows
}

export async function run(): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'darkroom-bench-wedding-'))
  try {
    const folder = await mkdtemp(join(dir, 'photos-'))
    const { paths, bytes } = await makeFolder(folder)
    const floorPaths = paths.slice(0, FLOOR_FILES)
    console.log(`decode-only floor on ${floorPaths.length} files ...`)
    const floorRates = [await floor(floorPaths)]
    console.log(`uploading ${PHOTOS} photos (${(bytes / MiB).toFixed(0)} MiB) ...`)
    const ours = await wedding(dir, paths, {})
    const compared = COMPARE_EFFORT
      ? await wedding(dir, paths, { VARIANT_EFFORT: COMPARE_EFFORT })
      : null
    floorRates.push(await floor(floorPaths))
    console.log(`wedding: ${JSON.stringify(ours)}; floor ${floorRates.map((r) => r.toFixed(2))}`)

    const floorStats = stats(floorRates)
    const floorMs = (PHOTOS / floorStats.median) * 1000
    const conditions = `${PHOTOS} x ${WIDTH}x${HEIGHT} JPEGs (${(bytes / PHOTOS / MiB).toFixed(1)} MiB each), tus-js-client, ${PARALLEL} at once, 8 MiB chunks, server child (defaults, MALLOC_ARENA_MAX=2), polled every ${POLL_MS} ms`
    const seconds = (ms: number) => ({ median: ms / 1000, min: ms / 1000, max: ms / 1000 })
    const rate = (value: number) => ({ median: value, min: value, max: value })
    const cpu =
      ours.cpuMs === null ? '' : `; server CPU ${(ours.cpuMs / PHOTOS).toFixed(0)} ms/photo`
    const rows: Row[] = [
      {
        name: 'decode-only floor (sharp, 1/2 DCT scale, two at once)',
        unit: 'photos/s',
        ...floorStats,
        conditions: `${floorPaths.length} of the same files, before and after the upload; ${(floorMs / 1000).toFixed(0)} s for ${PHOTOS}`,
      },
      {
        name: 'wedding: every photo listed with small + medium',
        unit: 's',
        ...seconds(ours.listedMs),
        ratio: floorMs / ours.listedMs,
        peakRssMb: ours.peakRssMb,
        conditions: `${conditions}; ratio = floor time / this; peak RSS = server VmHWM${cpu}`,
      },
      {
        name: 'wedding: every configured variant exists',
        unit: 's',
        ...seconds(ours.completeMs),
        ratio: floorMs / ours.completeMs,
        conditions: `${conditions}; ${CONFIGURED.join(', ')}; ratio = floor time / this`,
      },
      {
        name: 'wedding: photos/s to every variant',
        unit: 'photos/s',
        ...rate(PHOTOS / (ours.completeMs / 1000)),
        ratio: PHOTOS / (ours.completeMs / 1000) / floorStats.median,
        conditions: `ratio = against the floor; last upload answered at ${(ours.uploadsMs / 1000).toFixed(1)} s`,
      },
      ...(compared
        ? [
            {
              name: `wedding at VARIANT_EFFORT=${COMPARE_EFFORT}: every configured variant exists`,
              unit: 's',
              ...seconds(compared.completeMs),
              ratio: floorMs / compared.completeMs,
              peakRssMb: compared.peakRssMb,
              conditions: `the same server, run after the default; the default is ${(compared.completeMs / ours.completeMs).toFixed(2)}x as fast${compared.cpuMs === null ? '' : `; server CPU ${(compared.cpuMs / PHOTOS).toFixed(0)} ms/photo`}`,
            },
          ]
        : []),
      ...(await effortRows(paths.slice(0, Math.min(EFFORT_FILES, DISTINCT)))),
    ]
    printTable(
      `wedding: ${PHOTOS} photos through the server (ratios against baselines in the same run)${QUICK ? ' [quick]' : ''}`,
      rows,
    )
    writeJson('wedding', rows)
    return rows
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
