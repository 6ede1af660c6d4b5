import type { IncomingMessage, ServerResponse } from 'node:http'
import type { DarkroomObserver, DarkroomStats } from '@darkroom/core'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Logger } from '../logger.js'
import type { RequestLabel } from '../http/route-label.js'
import { methodLabel } from '../http/route-label.js'
import { countBodyBytes } from './count-body-bytes.js'
import { watchResponseHeader } from './response-header.js'

/**
 * The server's Prometheus metrics, in a registry of its own (several servers in one process,
 * as in tests, never share counters). Requests are counted at the edge (`track`), ingest
 * through core's observer around `photos.upload`, and queue depths are read when scraped.
 *
 * Labels stay low-cardinality by construction: `route` comes from `labelRequest` (route names
 * and known tRPC procedures only), `method` from a fixed list, `status` is a number.
 */

export interface MetricSources {
  /** The engine's CPU limiter (`darkroom.stats()`). */
  engine(): DarkroomStats
  /** Webhook deliveries waiting in the outbox. */
  pendingDeliveries(): Promise<number>
  /** pg-boss queues and their unfinished jobs (Postgres); null: no job queue. */
  jobQueues(): Promise<Record<string, number>> | null
}

interface RouteSeries {
  inFlight: { inc(): void; dec(): void }
  duration: { observe(value: number): void }
  byStatus: Map<number, { inc(): void }>
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
const INGEST_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900]

export class ServerMetrics {
  readonly registry = new Registry()
  readonly #logger: Logger
  readonly #requests: Counter<'route' | 'method' | 'status'>
  readonly #duration: Histogram<'route' | 'method'>
  readonly #inFlight: Gauge<'route'>
  readonly #trpcCalls: Counter<'procedure'>
  readonly #uploadBytes: Counter<'via'>
  readonly #imageCache: Counter<'result'>
  readonly #cacheHits: { inc(): void }
  readonly #cacheMisses: { inc(): void }
  readonly #ingestDuration: Histogram<'outcome'>
  readonly #ingestFiles: Counter<'result'>
  /**
   * prom-client hashes a label object on every `inc`/`observe`; per request that showed as a
   * tenth of a cached image hit. Each route's bound series are looked up once and kept (the
   * labels are few by construction, so the maps stay small).
   */
  readonly #series = new Map<string, RouteSeries>()

  constructor(options: { logger: Logger }) {
    this.#logger = options.logger
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry })
    this.#requests = new Counter({
      name: 'darkroom_http_requests_total',
      help: 'HTTP requests answered, by route, method and status.',
      labelNames: ['route', 'method', 'status'],
      registers,
    })
    this.#duration = new Histogram({
      name: 'darkroom_http_request_duration_seconds',
      help: 'Time from a request arriving to its response finishing (or the connection closing).',
      labelNames: ['route', 'method'],
      buckets: DURATION_BUCKETS,
      registers,
    })
    this.#inFlight = new Gauge({
      name: 'darkroom_http_requests_in_flight',
      help: 'Requests being answered now.',
      labelNames: ['route'],
      registers,
    })
    this.#trpcCalls = new Counter({
      name: 'darkroom_trpc_calls_total',
      help: 'tRPC procedure calls, one per call of a batch.',
      labelNames: ['procedure'],
      registers,
    })
    this.#uploadBytes = new Counter({
      name: 'darkroom_upload_bytes_total',
      help: 'Upload body bytes received: tus PATCH (and POST with data) bodies, tRPC photos.upload forms.',
      labelNames: ['via'],
      registers,
    })
    this.#imageCache = new Counter({
      name: 'darkroom_image_cache_total',
      help: 'Rendered /image/ answers from the transform cache (hit) or rendered now (miss).',
      labelNames: ['result'],
      registers,
    })
    this.#ingestDuration = new Histogram({
      name: 'darkroom_ingest_duration_seconds',
      help: 'Time of a photos.upload call in the engine (any transport), CPU queueing included.',
      labelNames: ['outcome'],
      buckets: INGEST_BUCKETS,
      registers,
    })
    this.#ingestFiles = new Counter({
      name: 'darkroom_ingest_files_total',
      help: 'Files through photos.upload: stored, or skipped (duplicates and refusals).',
      labelNames: ['result'],
      registers,
    })
    for (const via of ['tus', 'trpc']) this.#uploadBytes.inc({ via }, 0)
    this.#cacheHits = this.#imageCache.labels({ result: 'hit' })
    this.#cacheMisses = this.#imageCache.labels({ result: 'miss' })
    for (const result of ['hit', 'miss']) this.#imageCache.inc({ result }, 0)
    for (const result of ['uploaded', 'skipped']) this.#ingestFiles.inc({ result }, 0)
  }

  /** For `createDarkroom`: times every `photos.upload`. */
  readonly observer: DarkroomObserver = {
    upload: (o) => {
      this.#ingestDuration.observe({ outcome: o.error ? 'error' : 'ok' }, o.durationMs / 1000)
      this.#ingestFiles.inc({ result: 'uploaded' }, o.uploaded)
      this.#ingestFiles.inc({ result: 'skipped' }, o.skipped)
    },
  }

  /** The gauges read at scrape time; call once the engine (and the job queue) exist. */
  watch(sources: MetricSources): void {
    const registers = [this.registry]
    const logger = this.#logger
    // A source that fails (the database is down) empties its gauge; the scrape still answers.
    const quietly = <T extends Gauge<string>>(what: string, collect: (this: T) => Promise<void>) =>
      async function (this: T) {
        try {
          await collect.call(this)
        } catch (error) {
          this.reset()
          logger.warn({ err: error }, `metrics: could not read ${what}`)
        }
      }
    new Gauge({
      name: 'darkroom_engine_cpu_active',
      help: 'Image work (decode, render, transform) running now in the engine.',
      registers,
      collect() {
        this.set(sources.engine().cpu.active)
      },
    })
    new Gauge({
      name: 'darkroom_engine_cpu_waiting',
      help: 'Image work waiting for one of the engine CPU slots.',
      registers,
      collect() {
        this.set(sources.engine().cpu.waiting)
      },
    })
    new Gauge({
      name: 'darkroom_engine_cpu_slots',
      help: 'Image work the engine runs at once (its concurrency).',
      registers,
      collect() {
        this.set(sources.engine().cpu.max)
      },
    })
    new Gauge({
      name: 'darkroom_engine_decode_memory_bytes',
      help: 'Decode memory taken by image ingests now (of INGEST_MEMORY_MB).',
      registers,
      collect() {
        this.set(sources.engine().decodeMemory.used)
      },
    })
    new Gauge({
      name: 'darkroom_engine_decode_memory_waiting',
      help: 'Image ingests waiting for decode memory to be free.',
      registers,
      collect() {
        this.set(sources.engine().decodeMemory.waiting)
      },
    })
    new Gauge({
      name: 'darkroom_webhook_deliveries_pending',
      help: 'Webhook deliveries in the outbox not delivered or given up yet.',
      registers,
      collect: quietly('the webhook outbox', async function (this: Gauge) {
        this.set(await sources.pendingDeliveries())
      }),
    })
    new Gauge({
      name: 'darkroom_jobs_pending',
      help: 'pg-boss jobs not finished yet (created, retry, active), by queue (Postgres only).',
      labelNames: ['queue'],
      registers,
      collect: quietly('the job queues', async function (this: Gauge<'queue'>) {
        const queues = await sources.jobQueues()
        if (!queues) return
        for (const [queue, pending] of Object.entries(queues)) this.set({ queue }, pending)
      }),
    })
  }

  #seriesOf(route: string, method: string): RouteSeries {
    const key = `${route} ${method}`
    let series = this.#series.get(key)
    if (!series) {
      series = {
        inFlight: this.#inFlight.labels({ route }),
        duration: this.#duration.labels({ route, method }),
        byStatus: new Map(),
      }
      this.#series.set(key, series)
    }
    return series
  }

  /** Counts one request; call when it arrives (records when it finishes or is cut off). */
  track(req: IncomingMessage, res: ServerResponse, label: RequestLabel): void {
    const { route } = label
    const method = methodLabel(req.method)
    const started = process.hrtime.bigint()
    const series = this.#seriesOf(route, method)
    series.inFlight.inc()
    for (const procedure of label.procedures) this.#trpcCalls.inc({ procedure })
    const contentType = (req.headers['content-type'] ?? '').toLowerCase()
    const via =
      route === 'files' && contentType.startsWith('application/offset+octet-stream')
        ? 'tus'
        : route === 'photos.upload' && contentType.startsWith('multipart/form-data')
          ? 'trpc'
          : null
    if (via) countBodyBytes(req, (bytes) => this.#uploadBytes.inc({ via }, bytes))
    // The image route says whether the transform cache had the rendition.
    if (route === 'image') {
      watchResponseHeader(res, 'x-cache', (cache) => {
        const result = cache?.toUpperCase()
        if (result === 'HIT') this.#cacheHits.inc()
        else if (result === 'MISS') this.#cacheMisses.inc()
      })
    }

    let done = false
    const finish = () => {
      if (done) return
      done = true
      series.inFlight.dec()
      series.duration.observe(Number(process.hrtime.bigint() - started) / 1e9)
      // A connection closed before the answer was sent has no status: 499, as nginx logs it.
      const status = res.writableFinished || res.headersSent ? res.statusCode : 499
      let requests = series.byStatus.get(status)
      if (!requests) {
        requests = this.#requests.labels({ route, method, status: String(status) })
        series.byStatus.set(status, requests)
      }
      requests.inc()
    }
    res.once('finish', finish)
    res.once('close', finish)
  }

  /** The exposition text, and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
