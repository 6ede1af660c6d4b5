import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import {
  createDarkroom,
  systemClock,
  type BlobStore,
  type Clock,
  type Darkroom,
  type DarkroomObserver,
  type EventSink,
  type ServerStore,
} from '@darkroom/core'
import {
  createDarkroomHandler,
  type DarkroomHandler,
  type DarkroomHandlerOptions,
} from '@darkroom/http'
import { createFsBlobStore, createSqliteStore, type KyselyMetadataStore } from '@darkroom/storage'
import {
  createApiKey,
  createSignInCode,
  OutboxEventSink,
  type AppRouter,
  type Authenticate,
} from '@darkroom/trpc'
import type { ServerConfig } from './config.js'
import { createListener, type Listener } from './http/listener.js'
import { createMetricsRoute } from './http/metrics-route.js'
import { createRequestLog } from './http/request-log.js'
import { labelRequest } from './http/route-label.js'
import { createStaticRoute } from './http/static.js'
import { createLogger, type Logger } from './logger.js'
import { ServerMetrics } from './metrics/server-metrics.js'
import { loadOrCreateSigningSecret } from './signing-secret.js'
import { ensureSchema } from './jobs/ensure-schema.js'
import { PgBossJobs, QUEUES } from './jobs/pg-boss-jobs.js'
import { periodicTasks, type PeriodicTask, type PeriodicTaskName } from './jobs/periodic-tasks.js'
import { WebhookDeliveryWorker } from './webhooks/delivery-worker.js'
import { guardedPost } from './webhooks/guarded-post.js'

/**
 * The composition root: config → adapters (SQLite store, folder of blobs) → engine → HTTP
 * handlers and background timers. Nothing else builds adapters or reads the config's URLs.
 */

export interface ComposeOptions {
  config: ServerConfig
  logger?: Logger
  /** The app's own sign-in, beside API keys (see `createDarkroomHandler`). */
  authenticate?: Authenticate
  clock?: Clock
  /** The webhook worker's HTTP client (tests); default global fetch. */
  fetch?: typeof fetch
  /** Start the webhook worker and the cleanup timers; default true. */
  timers?: boolean
  /**
   * The main port, already bound by `serve()` before anything was created (see listener.ts);
   * default: one bound by `listen()`.
   */
  listener?: Listener
  /** The `METRICS_PORT` listener, likewise; default: one made when `METRICS_PORT` is set. */
  metricsListener?: Listener
}

export interface Composed {
  /** The request handler (the gallery behind Darkroom's routes), for mounting in another server. */
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>
  /** Darkroom's routes alone (`@darkroom/http`). */
  http: DarkroomHandler
  /** A Node server around `handler` (`listen()` binds it unless `serve()` already has). */
  server: Server
  /** The Prometheus metrics; null with `METRICS=false`. */
  metrics: ServerMetrics | null
  /** `http://host:port` of the `METRICS_PORT` listener once bound; null without one. */
  readonly metricsUrl: string | null
  darkroom: Darkroom
  serverStore: ServerStore
  router: AppRouter
  /** Settles when the start-up recovery of unfinished uploads is done: how many it settled. */
  recovered: Promise<number>
  webhooks: WebhookDeliveryWorker
  /** pg-boss (Postgres only, and only when timers run); null with SQLite. */
  jobs: PgBossJobs | null
  config: ServerConfig
  logger: Logger
  signingSecret: string
  /**
   * Creates an admin API key if the database has none; returns it (shown once) with a one-time
   * sign-in code for it (10 minutes; the gallery link), or null.
   */
  ensureAdminKey(): Promise<{ key: string; signInCode: string } | null>
  /**
   * Listens on the configured host and port (and `METRICS_PORT`); resolves with the URL.
   * Rejects with a `ListenError` (its message is the line to print).
   */
  listen(): Promise<string>
  /**
   * Graceful stop: stops accepting connections, lets requests in flight (uploads included)
   * finish for up to `graceMs`, stops the timers, then closes the database and blob store.
   */
  close(graceMs?: number): Promise<void>
}

export interface Engine {
  darkroom: Darkroom
  store: KyselyMetadataStore
  serverStore: ServerStore
  blobs: BlobStore
}

/** Adapters and engine only: what the CLI needs, without HTTP or timers. */
export async function createEngine(
  config: ServerConfig,
  logger: Logger,
  options: {
    events?: (serverStore: ServerStore) => EventSink
    clock?: Clock
    observer?: DarkroomObserver
  } = {},
): Promise<Engine> {
  const store = await openMetadataStore(config.database)
  const blobs = await openBlobStore(config.blobs)
  try {
    const darkroom = await createDarkroom({
      store,
      blobs,
      config: config.darkroom,
      logger: logger.child({ module: 'core' }),
      ...(options.events ? { events: options.events(store.server) } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.observer ? { observer: options.observer } : {}),
    })
    return { darkroom, store, serverStore: store.server, blobs }
  } catch (error) {
    await store.close().catch(() => undefined)
    throw error
  }
}

export async function compose(options: ComposeOptions): Promise<Composed> {
  const { config } = options
  const logger = options.logger ?? createLogger(config.logLevel)
  const clock = options.clock ?? systemClock
  const signingSecret = config.signingSecret ?? (await loadOrCreateSigningSecret(config.dataDir))

  let worker: WebhookDeliveryWorker | undefined
  // With Postgres, pg-boss runs the background work of every process (see jobs/pg-boss-jobs.ts).
  let jobs: PgBossJobs | null = null
  const events = (store: ServerStore) =>
    new OutboxEventSink({
      store,
      clock,
      onEnqueued: () => (jobs ? jobs.send(QUEUES.webhooks) : worker?.poke()),
    })
  const metrics = config.metrics.enabled
    ? new ServerMetrics({ logger: logger.child({ module: 'metrics' }) })
    : null
  const engine = await createEngine(config, logger, {
    events,
    clock,
    ...(metrics ? { observer: metrics.observer } : {}),
  })
  const { darkroom, serverStore } = engine

  worker = new WebhookDeliveryWorker({
    store: serverStore,
    logger: logger.child({ module: 'webhooks' }),
    clock,
    ...config.webhooks,
    fetch: options.fetch ?? guardedPost(config.webhookRules.urlPolicy),
    onRetry: (at) => jobs?.send(QUEUES.webhooks, at),
  })

  // Processes behind one load balancer share uploads, so they share the lock on each too.
  const locker =
    config.database.kind === 'postgres'
      ? new (await import('@darkroom/http/postgres')).PgLocker({
          connectionString: config.database.connectionString,
          logger: logger.child({ module: 'tus-locker' }),
        })
      : undefined
  // With S3 blobs, tus uploads go straight to the bucket, under `<prefix>/uploads/`.
  const uploadStore = await s3UploadStore(config.blobs)
  const http = createDarkroomHandler({
    darkroom,
    serverStore,
    ...(options.authenticate ? { authenticate: options.authenticate } : {}),
    signingSecret,
    dataDir: config.dataDir,
    guestUploads: config.guestUploads,
    ...(config.trustProxy !== undefined ? { trustProxy: config.trustProxy } : {}),
    maxBodyBytesInFlight: config.maxBodyBytesInFlight,
    profiles: config.profiles,
    webhooks: config.webhookRules,
    uploads: {
      directory: config.uploads.directory,
      expiryMs: config.uploads.expiryMs,
      perMinute: config.rateLimit.uploadsPerMinute,
      maxUnfinished: config.uploads.maxUnfinished,
      ...(uploadStore ? { store: uploadStore } : {}),
      ...(locker ? { locker } : {}),
    },
    images: config.images,
    logger: logger.child({ module: 'http' }),
    clock,
  })
  const gallery = createStaticRoute({
    root: config.galleryDir,
    logger,
    mediaOrigins: config.publicBaseUrl ? [new URL(config.publicBaseUrl).origin] : [],
  })
  const procedures = new Set(Object.keys(http.router._def.procedures))
  const requestLog = createRequestLog(logger.child({ module: 'requests' }))
  const metricsRoute = createMetricsRoute({
    metrics,
    authenticate: http.authenticate,
    logger,
  })
  // Every request, on either port, is logged and counted under its route label, refusals
  // included.
  const observe = (req: IncomingMessage, res: ServerResponse) => {
    const label = labelRequest(req, procedures)
    requestLog(req, res, label.route)
    metrics?.track(req, res, label)
    return label
  }
  // Darkroom's routes, then the web gallery with its single-page fallback takes what is left.
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    if (observe(req, res).route === 'metrics') return metricsRoute(req, res)
    return http.node(req, res, () => void gallery(req, res))
  }
  const listener =
    options.listener ??
    createListener({
      port: config.port,
      host: config.host,
      portVariable: 'PORT',
      hostVariable: 'HOST',
      limits: config.connections,
    })
  const metricsPort = config.metrics.port
  const metricsListener =
    metricsPort === null
      ? null
      : (options.metricsListener ??
        createListener({
          port: metricsPort,
          host: config.metrics.host,
          portVariable: 'METRICS_PORT',
          hostVariable: 'METRICS_HOST',
        }))
  const openMetricsRoute = createMetricsRoute({ metrics, authenticate: null, logger })

  const timers: NodeJS.Timeout[] = []
  const every = (ms: number, what: string, task: () => Promise<unknown>) => {
    if (ms <= 0) return
    const timer = setInterval(() => {
      task().catch((error: unknown) => logger.error({ err: error }, `${what} failed`))
    }, ms)
    timer.unref()
    timers.push(timer)
  }
  const periodic = periodicTasks(config, {
    uploadCleanup: () => http.cleanupExpiredUploads(),
    purgePending: () => darkroom.maintenance.purgePending(),
    purgeTrash: () => darkroom.maintenance.purgeTrash(),
    orphanSweep: () => darkroom.maintenance.sweepOrphans(),
  })
  if (options.timers !== false && config.database.kind === 'postgres') {
    jobs = await startJobs(config, config.database.connectionString, logger, {
      webhooks: () => worker.drain(),
      periodic,
    }).catch(async (error: unknown) => {
      await locker?.close()
      await darkroom.close()
      throw error
    })
    // Whatever the outbox holds from before this start.
    jobs.send(QUEUES.webhooks)
  } else if (options.timers !== false) {
    worker.start()
    for (const task of Object.values(periodic)) every(task.everyMs, task.label, task.run)
  }

  metrics?.watch({
    engine: () => darkroom.stats(),
    pendingDeliveries: () => serverStore.countPendingDeliveries(),
    jobQueues: () => (jobs ? pendingJobs(jobs) : null),
  })
  listener.use((req, res) => void handler(req, res))
  // Uploads a stop left complete but not ingested become photos now, as their owners, beside
  // serving (a HEAD or the expiry sweep would reach them too, later).
  const recovered = http.recoverUploads().then(
    (count) => {
      if (count > 0) logger.info({ count }, 'unfinished uploads recovered')
      return count
    },
    (error: unknown) => {
      logger.error({ err: error }, 'upload recovery failed')
      return 0
    },
  )
  metricsListener?.use((req, res) => {
    observe(req, res)
    void openMetricsRoute(req, res)
  })

  let closing: Promise<void> | undefined
  return {
    handler,
    http,
    server: listener.server,
    metrics,
    get metricsUrl() {
      return metricsListener?.url ?? null
    },
    darkroom,
    serverStore,
    router: http.router,
    recovered,
    webhooks: worker,
    get jobs() {
      return jobs
    },
    config,
    logger,
    signingSecret,
    async ensureAdminKey() {
      if ((await serverStore.countApiKeys()) > 0) return null
      const { key, apiKey } = await createApiKey(
        serverStore,
        { ownerId: 'admin', name: 'admin (first start)', scopes: ['admin'] },
        { clock },
      )
      const { code } = await createSignInCode(serverStore, { keyId: apiKey.id }, { clock })
      return { key, signInCode: code }
    },
    async listen() {
      const url = await listener.listen()
      await metricsListener?.listen()
      return url
    },
    close(graceMs = 30_000) {
      closing ??= (async () => {
        for (const timer of timers) clearInterval(timer)
        await recovered
        await Promise.all([
          listener.close(graceMs),
          metricsListener?.close(Math.min(graceMs, 1_000)),
        ])
        await jobs?.stop(graceMs)
        await worker.stop()
        await locker?.close()
        await http.close()
        await darkroom.close()
      })()
      return closing
    },
  }
}

async function openBlobStore(target: ServerConfig['blobs']): Promise<BlobStore> {
  if (target.kind === 'fs') return createFsBlobStore({ root: target.root })
  // Loaded only with S3: folder users never load the AWS SDK.
  const { createS3BlobStore } = await import('@darkroom/storage/s3')
  return createS3BlobStore({
    bucket: target.bucket,
    prefix: target.prefix,
    region: target.region,
    forcePathStyle: target.forcePathStyle,
    ...(target.endpoint ? { endpoint: target.endpoint } : {}),
    ...(target.credentials ? { credentials: target.credentials } : {}),
  })
}

/** With S3 blobs: the store of tus uploads in the bucket; else null. */
async function s3UploadStore(
  target: ServerConfig['blobs'],
): Promise<NonNullable<DarkroomHandlerOptions['uploads']>['store'] | null> {
  if (target.kind !== 's3') return null
  const { S3UploadStore } = await import('@darkroom/http/s3')
  return new S3UploadStore({
    bucket: target.bucket,
    prefix: target.prefix ? `${target.prefix}/uploads/` : 'uploads/',
    region: target.region,
    forcePathStyle: target.forcePathStyle,
    ...(target.endpoint ? { endpoint: target.endpoint } : {}),
    ...(target.credentials ? { credentials: target.credentials } : {}),
  })
}

async function openMetadataStore(target: ServerConfig['database']): Promise<KyselyMetadataStore> {
  if (target.kind === 'sqlite') return createSqliteStore({ filename: target.filename })
  // Loaded only with Postgres: SQLite users never load pg.
  const { createPostgresStore } = await import('@darkroom/storage/postgres')
  if (target.schema) await ensureSchema(target.connectionString, target.schema)
  return createPostgresStore({
    connectionString: target.connectionString,
    ...(target.schema ? { schema: target.schema } : {}),
  })
}

function startJobs(
  config: ServerConfig,
  connectionString: string,
  logger: Logger,
  run: { webhooks: () => Promise<unknown>; periodic: Record<PeriodicTaskName, PeriodicTask> },
): Promise<PgBossJobs> {
  // Maintenance jobs come from cron or from this process (which wakes its worker at once).
  const job = (task: PeriodicTask) => ({
    cron: task.cron,
    run: task.run,
    expireInSeconds: task.expireInSeconds,
    pollIntervalMs: 30_000,
  })
  const { periodic } = run
  return PgBossJobs.start({
    connectionString,
    schema: config.jobs.schema,
    work: config.jobs.work,
    logger: logger.child({ module: 'jobs' }),
    pollIntervalMs: config.webhooks.pollIntervalMs,
    tasks: {
      // Every minute as a safety net; events and retries send their own jobs at once.
      [QUEUES.webhooks]: { cron: '* * * * *', run: run.webhooks, expireInSeconds: 5 * 60 },
      [QUEUES.uploadCleanup]: job(periodic.uploadCleanup),
      [QUEUES.purgePending]: job(periodic.purgePending),
      [QUEUES.purgeTrash]: job(periodic.purgeTrash),
      [QUEUES.orphanSweep]: job(periodic.orphanSweep),
    },
  })
}

/** Unfinished jobs of each of Darkroom's pg-boss queues. */
async function pendingJobs(jobs: PgBossJobs): Promise<Record<string, number>> {
  const names = Object.values(QUEUES)
  const counts = await Promise.all(names.map((name) => jobs.pending(name)))
  return Object.fromEntries(names.map((name, i) => [name, counts[i]!]))
}
