import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createDarkroom,
  systemClock,
  type BlobStore,
  type Clock,
  type Darkroom,
  type EventSink,
  type ServerStore,
} from '@darkroom/core'
import {
  createDarkroomHandler,
  type DarkroomHandler,
  type DarkroomHandlerOptions,
} from '@darkroom/http'
import { createFsBlobStore, createSqliteStore, type KyselyMetadataStore } from '@darkroom/storage'
import { createApiKey, type AppRouter, type Authenticate } from '@darkroom/trpc'
import type { ServerConfig } from './config.js'
import { createStaticRoute } from './http/static.js'
import { createLogger, type Logger } from './logger.js'
import { loadOrCreateSigningSecret } from './signing-secret.js'
import { ensureSchema } from './jobs/ensure-schema.js'
import { cronEvery, PgBossJobs, QUEUES } from './jobs/pg-boss-jobs.js'
import { WebhookDeliveryWorker } from './webhooks/delivery-worker.js'
import { OutboxEventSink } from './webhooks/outbox-event-sink.js'

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
}

export interface Composed {
  /** The request handler (the gallery behind Darkroom's routes), for mounting in another server. */
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>
  /** Darkroom's routes alone (`@darkroom/http`). */
  http: DarkroomHandler
  /** A Node server around `handler`, not listening yet (`listen()` does). */
  server: Server
  darkroom: Darkroom
  serverStore: ServerStore
  router: AppRouter
  webhooks: WebhookDeliveryWorker
  /** pg-boss (Postgres only, and only when timers run); null with SQLite. */
  jobs: PgBossJobs | null
  config: ServerConfig
  logger: Logger
  signingSecret: string
  /** Creates an admin API key if the database has none; returns it (shown once) or null. */
  ensureAdminKey(): Promise<string | null>
  /** Listens on the configured host and port; resolves with the URL. */
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
  options: { events?: (serverStore: ServerStore) => EventSink; clock?: Clock } = {},
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
  const engine = await createEngine(config, logger, { events, clock })
  const { darkroom, serverStore, blobs } = engine

  worker = new WebhookDeliveryWorker({
    store: serverStore,
    logger: logger.child({ module: 'webhooks' }),
    clock,
    ...config.webhooks,
    ...(options.fetch ? { fetch: options.fetch } : {}),
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
    uploads: {
      directory: config.uploads.directory,
      expiryMs: config.uploads.expiryMs,
      perMinute: config.rateLimit.uploadsPerMinute,
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
  // Darkroom's routes first; the web gallery and its single-page fallback take what is left.
  const handler = (req: IncomingMessage, res: ServerResponse) =>
    http.node(req, res, () => void gallery(req, res))
  const server = createServer({ requestTimeout: 0 }, (req, res) => void handler(req, res))
  // Uploads may be long; idle sockets are not kept forever.
  server.keepAliveTimeout = 5_000
  server.headersTimeout = 60_000

  const timers: NodeJS.Timeout[] = []
  const every = (ms: number, what: string, task: () => Promise<unknown>) => {
    if (ms <= 0) return
    const timer = setInterval(() => {
      task().catch((error: unknown) => logger.error({ err: error }, `${what} failed`))
    }, ms)
    timer.unref()
    timers.push(timer)
  }
  if (options.timers !== false && config.database.kind === 'postgres') {
    jobs = await startJobs(config, config.database.connectionString, logger, {
      webhooks: () => worker.drain(),
      uploadCleanup: () => http.cleanupExpiredUploads(),
      purgePending: () => darkroom.maintenance.purgePending(),
      orphanSweep: () => darkroom.maintenance.sweepOrphans(),
    }).catch(async (error: unknown) => {
      await locker?.close()
      await darkroom.close()
      throw error
    })
    // Whatever the outbox holds from before this start.
    jobs.send(QUEUES.webhooks)
  } else if (options.timers !== false) {
    worker.start()
    every(config.uploads.cleanupIntervalMs, 'upload cleanup', () => http.cleanupExpiredUploads())
    every(config.maintenance.intervalMs, 'pending purge', () => darkroom.maintenance.purgePending())
  }

  let closing: Promise<void> | undefined
  return {
    handler,
    http,
    server,
    darkroom,
    serverStore,
    router: http.router,
    webhooks: worker,
    get jobs() {
      return jobs
    },
    config,
    logger,
    signingSecret,
    async ensureAdminKey() {
      if ((await serverStore.countApiKeys()) > 0) return null
      const { key } = await createApiKey(
        serverStore,
        { ownerId: 'admin', name: 'admin (first start)', scopes: ['admin'] },
        { clock },
      )
      return key
    },
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen(config.port, config.host, () => {
          server.off('error', reject)
          const { port } = server.address() as AddressInfo
          const host = config.host.includes(':') ? `[${config.host}]` : config.host
          resolve(`http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`)
        })
      })
    },
    close(graceMs = 30_000) {
      closing ??= (async () => {
        for (const timer of timers) clearInterval(timer)
        if (server.listening) {
          const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
          server.closeIdleConnections()
          const grace = setTimeout(() => server.closeAllConnections(), graceMs)
          grace.unref()
          await stopped
          clearTimeout(grace)
        }
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
  run: Record<
    'webhooks' | 'uploadCleanup' | 'purgePending' | 'orphanSweep',
    () => Promise<unknown>
  >,
): Promise<PgBossJobs> {
  const purgeMs = config.maintenance.intervalMs
  return PgBossJobs.start({
    connectionString,
    schema: config.jobs.schema,
    work: config.jobs.work,
    logger: logger.child({ module: 'jobs' }),
    pollIntervalMs: config.webhooks.pollIntervalMs,
    // Maintenance jobs come from cron or from this process (which wakes its worker at once).
    tasks: {
      // Every minute as a safety net; events and retries send their own jobs at once.
      [QUEUES.webhooks]: { cron: '* * * * *', run: run.webhooks, expireInSeconds: 5 * 60 },
      [QUEUES.uploadCleanup]: {
        cron: cronEvery(config.uploads.cleanupIntervalMs),
        run: run.uploadCleanup,
        expireInSeconds: 15 * 60,
        pollIntervalMs: 30_000,
      },
      [QUEUES.purgePending]: {
        cron: purgeMs > 0 ? cronEvery(purgeMs) : null,
        run: run.purgePending,
        expireInSeconds: 30 * 60,
        pollIntervalMs: 30_000,
      },
      // Daily, off the hour: it lists every blob.
      [QUEUES.orphanSweep]: {
        cron: '17 3 * * *',
        run: run.orphanSweep,
        expireInSeconds: 2 * 3600,
        pollIntervalMs: 30_000,
      },
    },
  })
}
