import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import sharp from 'sharp'
import * as tus from 'tus-js-client'
import { createDarkroom } from '@darkroom/core'
import { createFsBlobStore, createSqliteStore } from '@darkroom/storage'
import { createDarkroomClient } from '../apps/example/src/client.js'
import { startChild, SERVER_MAIN, type Child } from './children.js'
import { QUICK, printTable, size, stats, withPeakRss, writeJson, type Row } from './lib.js'
import { uniqueCopy } from './photos.js'

/**
 * Upload: the two ways bytes enter Darkroom over HTTP, each against a baseline in the same run.
 *
 * - tus (`/files`, tus-js-client, 8 MiB chunks): one large video (a small ffmpeg clip padded
 *   with an ISO-BMFF `free` box, which ffprobe skips) through `npm start`'s server, against a
 *   bare Node server that streams the same chunks, sent as sequential PATCHes over keep-alive,
 *   to a file on the same disk (with and without an fsync per request: ours fsyncs every
 *   acknowledged offset). Runs are interleaved. "Transfer" is the rate at which the chunks
 *   before the last were acknowledged (the last response waits for ingest, by design);
 *   "to ingested" is the whole upload, POST to `onSuccess`, the photo stored.
 * - FormData (tRPC `photos.upload`, typed client): 5 MB JPEGs in one batch, against
 *   `darkroom.photos.upload` in-process with the same files and config: the HTTP/tRPC overhead.
 *
 * Servers are child processes, so their peak RSS (VmRSS sampled every 50 ms) is their own.
 */
const MiB = 1024 * 1024
const PAYLOAD_MIB = size('UPLOAD_MIB', 1024, 32)
const PHOTOS = size('PHOTOS', 50, 3)
const RUNS = size('RUNS', 3, 1)
/** FormData runs: one batch of 50 takes about a minute on each side on 2 cores. */
const FORM_RUNS = size('FORM_RUNS', 1, 1)
const CHUNK = 8 * MiB

/**
 * A tus server's minimum: PATCH bodies streamed to `<PLAIN_DIR>/<name>` at Upload-Offset;
 * `?fsync`: the file is fsynced before it is closed and the offset answered.
 */
const PLAIN = `
const http = require('node:http'), fs = require('node:fs'), path = require('node:path')
const { pipeline } = require('node:stream/promises')
http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x')
  const offset = Number(req.headers['upload-offset'] ?? 0)
  const file = fs.createWriteStream(path.join(process.env.PLAIN_DIR, path.basename(url.pathname)), {
    flags: offset === 0 ? 'w' : 'r+', start: offset, flush: url.searchParams.has('fsync'),
  })
  await pipeline(req, file)
  res.writeHead(204, { 'Upload-Offset': String(offset + file.bytesWritten) }).end()
}).listen(0, '127.0.0.1', function () { console.log('listening on http://127.0.0.1:' + this.address().port) })
`

/** An MP4 that ffprobe reads whole: a 2 s clip, then a `free` box up to `bytes`. */
async function makeVideo(dir: string, bytes: number): Promise<{ path: string; markAt: number }> {
  const clip = join(dir, 'clip.mp4')
  await promisify(execFile)('ffmpeg', [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=duration=2:size=320x240:rate=25'],
    ...['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-preset', 'ultrafast'],
    ...['-movflags', '+faststart', clip],
  ])
  const head = await readFile(clip)
  const path = join(dir, 'payload.mp4')
  const file = await open(path, 'w')
  try {
    const box = Buffer.alloc(8)
    box.writeUInt32BE(bytes - head.byteLength, 0)
    box.write('free', 4, 'latin1')
    await file.write(Buffer.concat([head, box]))
    const zeros = Buffer.alloc(CHUNK)
    for (let at = head.byteLength + 8; at < bytes; at += CHUNK) {
      await file.write(zeros, 0, Math.min(CHUNK, bytes - at), at)
    }
  } finally {
    await file.close()
  }
  return { path, markAt: head.byteLength + 8 }
}

/** Makes every run's payload new bytes, so that no run is skipped as a duplicate. */
async function remark(path: string, at: number): Promise<void> {
  const file = await open(path, 'r+')
  try {
    await file.write(randomBytes(16), 0, 16, at)
  } finally {
    await file.close()
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) hash.update(chunk)
  return hash.digest('hex')
}

interface Timing {
  /** ms from the start to the response for the last chunk but one. */
  beforeLastMs: number
  totalMs: number
  photoId: string | null
}

/** `onTransferred`: called when every chunk but the last is acknowledged. */
function tusUpload(
  url: string,
  key: string,
  path: string,
  bytes: number,
  onTransferred: () => void,
): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    let beforeLastMs = 0
    const upload = new tus.Upload(createReadStream(path), {
      endpoint: `${url}/files`,
      headers: { authorization: `Bearer ${key}` },
      chunkSize: CHUNK,
      retryDelays: [],
      storeFingerprintForResuming: false,
      metadata: { filename: 'big.mp4' },
      onChunkComplete: (_chunk, accepted) => {
        if (accepted < bytes) beforeLastMs = performance.now() - start
        if (accepted === bytes - lastChunk(bytes)) onTransferred()
      },
      onSuccess: ({ lastResponse }) =>
        resolve({
          beforeLastMs,
          totalMs: performance.now() - start,
          photoId: lastResponse.getHeader('Darkroom-Photo-Id') ?? null,
        }),
      onError: reject,
    })
    upload.start()
  })
}

/** Sequential PATCHes of the same chunks from the same file, over one keep-alive socket. */
async function plainUpload(
  url: string,
  target: string,
  path: string,
  bytes: number,
  fsync: boolean,
) {
  const start = performance.now()
  let beforeLastMs = 0
  for (let offset = 0; offset < bytes; offset += CHUNK) {
    const end = Math.min(bytes, offset + CHUNK)
    await new Promise<void>((resolve, reject) => {
      const req = request(
        `${url}/files/${target}${fsync ? '?fsync' : ''}`,
        {
          method: 'PATCH',
          headers: {
            'Content-Type': 'application/offset+octet-stream',
            'Content-Length': end - offset,
            'Upload-Offset': offset,
          },
        },
        (res) => {
          res.resume()
          res.once('end', () =>
            res.statusCode === 204 ? resolve() : reject(new Error(`${res.statusCode}`)),
          )
        },
      )
      req.once('error', reject)
      createReadStream(path, { start: offset, end: end - 1 }).pipe(req)
    })
    if (end < bytes) beforeLastMs = performance.now() - start
  }
  return { beforeLastMs, totalMs: performance.now() - start, photoId: null }
}

/** Flushes what a run left dirty in the page cache, so that it does not slow the next run. */
async function flush(path: string): Promise<void> {
  const file = await open(path, 'r+')
  await file.sync().finally(() => file.close())
}

async function tusRows(dir: string, server: Child, key: string): Promise<Row[]> {
  const bytes = PAYLOAD_MIB * MiB
  console.log(`writing a ${PAYLOAD_MIB} MiB MP4 ...`)
  const { path, markAt } = await makeVideo(dir, bytes)
  const plainDir = join(dir, 'plain')
  await mkdir(plainDir)
  const plain = await startChild(['-e', PLAIN], { PLAIN_DIR: plainDir })
  const client = createDarkroomClient({ baseUrl: server.url, apiKey: key })
  const cases = {
    plain: { timings: [] as Timing[], peak: 0 },
    fsync: { timings: [] as Timing[], peak: 0 },
    ours: { timings: [] as Timing[], peak: 0 },
  }
  // Ours twice: while the bytes flow, and with the ingest (hash, ffprobe, copy) included.
  let oursTransferPeak = 0
  try {
    const runPlain = async (name: 'plain' | 'fsync') => {
      plain.takePeakRssMb()
      // A new file each run: rewriting one would free a gigabyte of blocks, and on a disk
      // mounted with `discard` that slows the fsyncs of whichever run comes next.
      const target = `${name}-${cases[name].timings.length}`
      cases[name].timings.push(await plainUpload(plain.url, target, path, bytes, name === 'fsync'))
      cases[name].peak = Math.max(cases[name].peak, plain.takePeakRssMb())
      await flush(join(plainDir, target))
    }
    const runOurs = async (run: number) => {
      await remark(path, markAt)
      server.takePeakRssMb()
      let transferPeak = 0
      const timing = await tusUpload(server.url, key, path, bytes, () => {
        transferPeak = server.takePeakRssMb()
      })
      oursTransferPeak = Math.max(oursTransferPeak, transferPeak)
      cases.ours.peak = Math.max(cases.ours.peak, transferPeak, server.takePeakRssMb())
      cases.ours.timings.push(timing)
      // The photo must be there, whole: a run that failed fast would look fast.
      if (!timing.photoId) throw new Error('the tus upload answered no photo id')
      const photo = await client.photos.get.query({ id: timing.photoId })
      if (photo.size !== bytes || photo.kind !== 'video') {
        throw new Error(`stored ${photo.kind} of ${photo.size} bytes, expected ${bytes}`)
      }
      if (run === 0 && photo.checksum !== (await sha256File(path))) {
        throw new Error('the stored video has another sha256 than the payload')
      }
    }
    // The order turns every round, so that each case goes first once (with 3 runs): a run is
    // slower after another one's gigabyte of writes (and ours removes its upload file).
    const order = ['ours', 'plain', 'fsync'] as const
    for (let run = 0; run < RUNS; run++) {
      for (let i = 0; i < order.length; i++) {
        const name = order[(i + run) % order.length]!
        if (name === 'ours') await runOurs(run)
        else await runPlain(name)
      }
    }
  } finally {
    await plain.stop('SIGKILL')
  }
  const rate = (t: Timing[], key: 'beforeLastMs' | 'totalMs') => {
    const counted = key === 'beforeLastMs' ? bytes - lastChunk(bytes) : bytes
    return stats(t.map((x) => counted / MiB / (x[key] / 1000)))
  }
  const conditions = `${PAYLOAD_MIB} MiB, 8 MiB chunks, ${RUNS} runs interleaved, order rotated`
  const rows: Row[] = []
  const base = {
    transfer: rate(cases.plain.timings, 'beforeLastMs'),
    total: rate(cases.plain.timings, 'totalMs'),
  }
  const fsync = {
    transfer: rate(cases.fsync.timings, 'beforeLastMs'),
    total: rate(cases.fsync.timings, 'totalMs'),
  }
  const versusFsync = (ours: { median: number }, theirs: { median: number }) =>
    `; ${(ours.median / theirs.median).toFixed(2)}x plain+fsync`
  for (const [name, c] of Object.entries(cases)) {
    const label =
      name === 'plain'
        ? 'plain node server (baseline)'
        : name === 'fsync'
          ? 'plain node server + fsync per PATCH'
          : 'darkroom /files, tus-js-client'
    const transfer = rate(c.timings, 'beforeLastMs')
    const total = rate(c.timings, 'totalMs')
    rows.push({
      name: `${label}: transfer`,
      unit: 'MiB/s',
      ...transfer,
      ratio: transfer.median / base.transfer.median,
      peakRssMb: name === 'ours' ? oursTransferPeak : c.peak,
      conditions: `${conditions}; chunks before the last acknowledged${name === 'ours' ? versusFsync(transfer, fsync.transfer) : ''}`,
    })
    rows.push({
      name: `${label}: to ingested`,
      unit: 'MiB/s',
      ...total,
      ratio: total.median / base.total.median,
      ...(name === 'ours' ? { peakRssMb: c.peak } : {}),
      conditions:
        name === 'ours'
          ? `${conditions}; POST to onSuccess: hashed, probed, poster, stored${versusFsync(total, fsync.total)}`
          : `${conditions}; first to last PATCH answered`,
    })
  }
  return rows
}

function lastChunk(bytes: number): number {
  return bytes % CHUNK || CHUNK
}

/** A ~5 MB 4000x3000 JPEG of noise (quality 55). */
async function makePhoto(): Promise<Buffer> {
  const width = 4000
  const height = 3000
  const pixels = randomBytes(width * height * 3)
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 55 })
    .toBuffer()
}

async function formRows(dir: string, server: Child, key: string): Promise<Row[]> {
  console.log(`making ${PHOTOS} JPEGs of 5 MB ...`)
  const photo = await makePhoto()
  const client = createDarkroomClient({ baseUrl: server.url, apiKey: key })
  const httpRates: number[] = []
  const engineRates: number[] = []
  let httpPeak = 0
  let enginePeak = 0
  let totalBytes = 0
  for (let run = 0; run < FORM_RUNS; run++) {
    const files = Array.from({ length: PHOTOS }, (_, i) => uniqueCopy(photo, run * PHOTOS + i))
    totalBytes = files.reduce((sum, f) => sum + f.byteLength, 0)

    const engineDir = await mkdtemp(join(dir, 'engine-'))
    const darkroom = await createDarkroom({
      store: createSqliteStore({ filename: join(engineDir, 'darkroom.db') }),
      blobs: createFsBlobStore({ root: join(engineDir, 'blobs') }),
      config: { video: { enabled: true, tempDir: join(engineDir, 'tmp') } },
    })
    try {
      const me = { ownerId: 'bench', scopes: ['photos.read', 'photos.write'] }
      const start = performance.now()
      const { result, peakRssMb } = await withPeakRss(() =>
        darkroom.photos.upload(me, {
          files: files.map((data, i) => ({ filename: `${i}.jpg`, data })),
        }),
      )
      if (result.uploaded.length !== files.length) throw new Error('in-process: files skipped')
      engineRates.push(files.length / ((performance.now() - start) / 1000))
      enginePeak = Math.max(enginePeak, peakRssMb)
    } finally {
      await darkroom.close()
      await rm(engineDir, { recursive: true, force: true })
    }

    const form = new FormData()
    files.forEach((data, i) =>
      form.append('files', new File([data], `${i}.jpg`, { type: 'image/jpeg' })),
    )
    server.takePeakRssMb()
    const start = performance.now()
    const result = await client.photos.upload.mutate(form)
    if (result.uploaded.length !== files.length) throw new Error('tRPC: files skipped')
    httpRates.push(files.length / ((performance.now() - start) / 1000))
    httpPeak = Math.max(httpPeak, server.takePeakRssMb())
  }
  const mibPerPhoto = totalBytes / PHOTOS / MiB
  const conditions = `${PHOTOS} JPEGs 4000x3000 ~${mibPerPhoto.toFixed(1)} MiB, one batch, ${FORM_RUNS} run(s)`
  const engine = stats(engineRates)
  const http = stats(httpRates)
  const mib = (s: typeof engine) => ({
    median: s.median * mibPerPhoto,
    min: s.min * mibPerPhoto,
    max: s.max * mibPerPhoto,
  })
  return [
    {
      name: 'in-process darkroom.photos.upload (baseline)',
      unit: 'photos/s',
      ...engine,
      peakRssMb: enginePeak,
      conditions: `${conditions}; RSS of the bench process, holding the files`,
    },
    {
      name: 'tRPC photos.upload FormData',
      unit: 'photos/s',
      ...http,
      ratio: http.median / engine.median,
      peakRssMb: httpPeak,
      conditions: `${conditions}; server child RSS`,
    },
    {
      name: 'tRPC photos.upload FormData',
      unit: 'MiB/s',
      ...mib(http),
      ratio: http.median / engine.median,
      conditions,
    },
  ]
}

export async function run(): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'darkroom-bench-upload-'))
  let server: Child | null = null
  try {
    const dataDir = join(dir, 'data')
    server = await startChild([SERVER_MAIN], {
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      VIDEO_ENABLED: 'true',
      VIDEO_MAX_FILE_BYTES: String(4 * 1024 * MiB),
      RATE_LIMIT_UPLOADS_PER_MINUTE: '0',
    })
    const key = await server.adminKey()
    const rows = [...(await tusRows(dir, server, key)), ...(await formRows(dir, server, key))]
    printTable(
      `upload: tus and FormData (higher is better; ratio = darkroom / same-run baseline)${QUICK ? ' [quick]' : ''}`,
      rows,
    )
    writeJson('upload', rows)
    return rows
  } finally {
    await server?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
}
