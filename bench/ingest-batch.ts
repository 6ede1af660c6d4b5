import { readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDarkroom } from '@darkroom/core'
import { createFsBlobStore, createSqliteStore } from '@darkroom/storage'
import { makePhoto, uniqueCopy } from './photos.js'

/**
 * One batch of BATCH photos (WIDTH x HEIGHT JPEGs, FORMAT variants) through `photos.upload` at the
 * default concurrency (2), run by bench/ingest.ts in its own process so the peak RSS is the
 * engine's. Photos arrive as a server receives them: one upload call per photo (as tus finishes
 * each file), 4 calls in flight; each is a unique copy of one of 8 generated JPEGs (identical
 * pixels, distinct checksum), made when it is sent. CPU utilisation is sampled every second from
 * the first photo to the last: process CPU time (libvips' threads included) over 2 cores' worth.
 * Prints one JSON line.
 */
const count = Number(process.env.BATCH ?? 500)
const width = Number(process.env.WIDTH ?? 4000)
const height = Number(process.env.HEIGHT ?? 3000)
const format = (process.env.FORMAT ?? 'webp') as 'webp' | 'jpeg'
const cores = Math.min(2, availableParallelism())

function peakRssMb(): number {
  const status = readFileSync('/proc/self/status', 'utf8')
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status)
  return hwm ? Math.round(Number(hwm[1]) / 1024) : Math.round(process.memoryUsage.rss() / 2 ** 20)
}

const sources: Buffer[] = []
for (let i = 0; i < 8; i++) sources.push(await makePhoto(width, height, i * 3))
// The peak RSS should be the batch's, not that of making its photos: reset the high-water mark.
try {
  writeFileSync('/proc/self/clear_refs', '5')
} catch {
  // Not Linux: the peak includes making the photos.
}
const dir = await mkdtemp(join(tmpdir(), 'darkroom-bench-batch-'))
const darkroom = await createDarkroom({
  store: createSqliteStore({ filename: join(dir, 'db.sqlite') }),
  blobs: createFsBlobStore({ root: join(dir, 'blobs') }),
  config: { variants: { format }, limits: { maxFileBytes: 200 * 1024 * 1024 } },
})
const me = { ownerId: 'bench', scopes: ['photos.write', 'photos.read'] }
const windows: number[] = []
let last = { cpu: process.cpuUsage(), at: performance.now() }
const sampler = setInterval(() => {
  const cpu = process.cpuUsage(last.cpu)
  const at = performance.now()
  windows.push(((cpu.user + cpu.system) / 1000 / (at - last.at) / cores) * 100)
  last = { cpu: process.cpuUsage(), at }
}, 1000)
const startCpu = process.cpuUsage()
const start = performance.now()
let next = 0
let stored = 0
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (next < count) {
      const n = next++
      const { uploaded } = await darkroom.photos.upload(me, {
        files: [{ filename: `${n}.jpg`, data: uniqueCopy(sources[n % sources.length]!, n) }],
      })
      stored += uploaded.length
    }
  }),
)
const seconds = (performance.now() - start) / 1000
const cpu = process.cpuUsage(startCpu)
clearInterval(sampler)
await darkroom.close()
await rm(dir, { recursive: true, force: true })
if (stored !== count) throw new Error(`stored ${stored} of ${count}`)
// The first and last windows are partial (the batch starts and ends inside them).
const full = windows.length > 2 ? windows.slice(0, -1) : windows
const sorted = [...full].sort((a, b) => a - b)
const round = (n: number) => Math.round(n * 10) / 10
console.log(
  JSON.stringify({
    photos: stored,
    seconds: round(seconds),
    photosPerSecond: round(stored / seconds),
    peakRssMb: peakRssMb(),
    cpuOverall: round(((cpu.user + cpu.system) / 1e6 / seconds / cores) * 100),
    cpuMedian: round(sorted[Math.floor(sorted.length / 2)] ?? 0),
    cpuMin: round(sorted[0] ?? 0),
    cpuMax: round(sorted[sorted.length - 1] ?? 0),
  }),
)
