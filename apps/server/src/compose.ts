import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import {
  createDarkroom,
  systemClock,
  type BlobStore,
  type Clock,
  type Darkroom,
  type EventSink,
  type ServerStore,
} from '@darkroom/core'
import { createFsBlobStore, createSqliteStore, type KyselyMetadataStore } from '@darkroom/storage'
import {
  apiKeyAuthenticator,
  createApiKey,
  createAppRouter,
  createContext,
  type AppRouter,
} from '@darkroom/trpc'
import { createHTTPHandler } from '@trpc/server/adapters/standalone'
import type { ServerConfig } from './config.js'
import { GUEST_CALLER, type Authenticate } from './http/auth.js'
import { createFilesHandler, type FilesHandler } from './http/files.js'
import { createHealthRoute } from './http/health.js'
import { createImageRoute } from './http/images.js'
import { DiskCache } from './http/internal/disk-cache.js'
import { TransformQueue } from './http/internal/transform-queue.js'
import { createPhotoRoute } from './http/photos.js'
import { createRouter, type RouteHandler } from './http/router.js'
import { createLogger, type Logger } from './logger.js'
import { loadOrCreateSigningSecret } from './signing-secret.js'
import { WebhookDeliveryWorker } from './webhooks/delivery-worker.js'
import { OutboxEventSink } from './webhooks/outbox-event-sink.js'

/**
 * The composition root: config → adapters (SQLite store, folder of blobs) → engine → HTTP
 * handlers and background timers. Nothing else builds adapters or reads the config's URLs.
 */

export interface ComposeOptions {
  config: ServerConfig
  logger?: Logger
  /** Replaces the API-key check for every route (an app's session or JWT); see http/auth.ts. */
  authenticate?: Authenticate
  clock?: Clock
  /** The webhook worker's HTTP client (tests); default global fetch. */
  fetch?: typeof fetch
  /** Start the webhook worker and the cleanup timers; default true. */
  timers?: boolean
}

export interface Composed {
  /** The request handler, for mounting in another server. */
  handler: RouteHandler
  /** A Node server around `handler`, not listening yet (`listen()` does). */
  server: Server
  darkroom: Darkroom
  serverStore: ServerStore
  router: AppRouter
  files: FilesHandler
  webhooks: WebhookDeliveryWorker
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
  const store = createSqliteStore({ filename: config.database.filename })
  const blobs = createFsBlobStore({ root: config.blobs.root })
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
  const events = (store: ServerStore) =>
    new OutboxEventSink({ store, clock, onEnqueued: () => worker?.poke() })
  const engine = await createEngine(config, logger, { events, clock })
  const { darkroom, serverStore, blobs } = engine

  worker = new WebhookDeliveryWorker({
    store: serverStore,
    logger: logger.child({ module: 'webhooks' }),
    clock,
    ...config.webhooks,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  })

  const authenticate: Authenticate =
    options.authenticate ?? apiKeyAuthenticator(serverStore, { clock })
  const guestUploads = config.guestUploads ? { ownerId: GUEST_CALLER.ownerId } : null
  const router = createAppRouter(darkroom, { serverStore, authenticate, guestUploads, clock })
  const trpc = createHTTPHandler({
    router,
    createContext,
    basePath: '/trpc/',
    maxBodySize: Math.max(darkroom.config.limits.maxFileBytes, 512 * 1024 * 1024),
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') {
        logger.error({ err: error.cause ?? error, path }, 'tRPC procedure failed')
      }
    },
  })

  const files = createFilesHandler({
    darkroom,
    serverStore,
    authenticate,
    directory: join(config.dataDir, 'uploads'),
    path: '/files',
    expiryMs: config.uploads.expiryMs,
    guestUploads: config.guestUploads,
    logger: logger.child({ module: 'tus' }),
    clock,
  })

  const cache = new DiskCache(join(config.dataDir, 'cache'))
  const ownerOf = async (id: string) => (await engine.store.getPhoto(id))?.ownerId ?? null
  const unsubscribe = darkroom.events.on('photo.deleted', (event) => {
    if (event.subjectId) void cache.evict(event.subjectId).catch(() => undefined)
  })
  const image = createImageRoute({
    darkroom,
    authenticate,
    signingSecret,
    cache,
    queue: new TransformQueue(config.images),
    ownerOf,
    logger,
    clock,
  })
  const photo = createPhotoRoute({ darkroom, authenticate, signingSecret, ownerOf, logger, clock })
  const health = createHealthRoute({ serverStore, blobs, logger })

  const handler = createRouter(
    [
      { prefix: '/trpc', handle: (req, res) => trpc(req, res) },
      { prefix: '/files', handle: files.handle },
      { prefix: '/image/', handle: image },
      { prefix: '/photos/', handle: photo },
      { prefix: '/healthz', handle: health },
    ],
    logger,
  )
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
  if (options.timers !== false) {
    worker.start()
    every(config.uploads.cleanupIntervalMs, 'upload cleanup', () => files.cleanupExpired())
    every(config.maintenance.intervalMs, 'pending purge', () => darkroom.maintenance.purgePending())
  }

  let closing: Promise<void> | undefined
  return {
    handler,
    server,
    darkroom,
    serverStore,
    router,
    files,
    webhooks: worker,
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
        unsubscribe()
        if (server.listening) {
          const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
          server.closeIdleConnections()
          const grace = setTimeout(() => server.closeAllConnections(), graceMs)
          grace.unref()
          await stopped
          clearTimeout(grace)
        }
        await worker.stop()
        await darkroom.close()
      })()
      return closing
    },
  }
}
