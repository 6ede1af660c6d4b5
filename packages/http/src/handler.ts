import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import {
  isDarkroomError,
  systemClock,
  type Clock,
  type Darkroom,
  type ServerStore,
} from '@darkroom/core'
import {
  apiKeyAuthenticator,
  combineAuthenticators,
  createAppRouter,
  createContext,
  type AppRouter,
  type Authenticate,
} from '@darkroom/trpc'
import { createHTTPHandler } from '@trpc/server/adapters/standalone'
import type { Locker } from '@tus/utils'
import { NodeRequest, sendNodeResponse } from 'srvx/node'
import { GUEST_CALLER } from './auth.js'
import { createFilesHandler, type FilesHandlerOptions } from './files.js'
import { createHealthRoute } from './health.js'
import { createImageRoute } from './images.js'
import { DiskCache } from './internal/disk-cache.js'
import { TransformQueue } from './internal/transform-queue.js'
import { silentLogger, type Logger } from './logger.js'
import { createPhotoRoute } from './photos.js'
import { UploadRateLimiter } from './rate-limit.js'
import { createRouter } from './router.js'
import { createSessionRoute, withKeyCookie } from './session.js'

/**
 * Everything Darkroom serves over HTTP, as one handler an app mounts under any base path.
 */

export interface DarkroomHandlerOptions {
  darkroom: Darkroom
  /** API keys, webhooks and upload states (`store.server` of `createSqliteStore`). */
  serverStore: ServerStore
  /**
   * The app's own sign-in (a session cookie, a JWT): request → caller, or null when the request
   * carries none of its credentials. API keys (`Authorization: Bearer sk_...`) are checked first
   * either way, unless `apiKeys` is false.
   */
  authenticate?: Authenticate
  /** Accept Darkroom API keys; default true. */
  apiKeys?: boolean
  /** HMAC key of signed image URLs, at least 32 characters; the same in every process. */
  signingSecret: string
  /** Where the handler keeps its files: `uploads/` (tus) and `cache/` (rendered images). */
  dataDir: string
  /** The path the handler is mounted under, e.g. `/media`; default '' (the root). */
  basePath?: string
  /** Anonymous uploads (tRPC `photos.upload` and tus) as owner `guest`; default false. */
  guestUploads?: boolean
  uploads?: {
    /** Where tus keeps unfinished uploads; default `<dataDir>/uploads`. */
    directory?: string
    /** Unfinished uploads are removed this long after creation; default 24 h. */
    expiryMs?: number
    /** Another store of tus uploads than the folder (S3: `@darkroom/http/s3`); closed by `close`. */
    store?: FilesHandlerOptions['uploadStore']
    /** The tus lock of every process behind one load balancer (`@darkroom/http/postgres`). */
    locker?: Locker
    /** Upload requests (tRPC `photos.upload`, tus POST) per minute per owner; 0: off. Default 600. */
    perMinute?: number
  }
  images?: {
    /** Transforms at once; default 4. */
    maxConcurrent?: number
    /** Transforms allowed to wait; more get 503. Default 64. */
    maxQueue?: number
  }
  logger?: Logger
  clock?: Clock
}

export type NodeHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => Promise<void>

export interface DarkroomHandler {
  /** `(req, res, next?)` for node:http, Express, Connect and Fastify (`reply.raw`). */
  node: NodeHandler
  /** The tRPC router it serves, e.g. for `createCaller` in server-side code. */
  router: AppRouter
  /** The authentication every route uses (API keys, then the app's hook). */
  authenticate: Authenticate
  /** Removes unfinished uploads past their expiry; run it on a timer or a job queue. */
  cleanupExpiredUploads(): Promise<number>
  /** Stops what the handler holds open (the S3 upload client); the engine stays open. */
  close(): Promise<void>
}

/**
 * @example
 * const handler = createDarkroomHandler({ darkroom, serverStore: store.server, signingSecret,
 *   dataDir: './data', basePath: '/media' })
 * app.use(handler.node) // Express
 */
export function createDarkroomHandler(options: DarkroomHandlerOptions): DarkroomHandler {
  const { darkroom, serverStore } = options
  const logger = options.logger ?? silentLogger
  const clock = options.clock ?? systemClock
  const basePath = normalizeBasePath(options.basePath ?? '')
  const guestUploads = options.guestUploads ?? false
  const apiKeys = apiKeyAuthenticator(serverStore, { clock })
  const authenticate: Authenticate =
    options.apiKeys === false
      ? (options.authenticate ?? (async () => null))
      : options.authenticate
        ? combineAuthenticators(apiKeys, options.authenticate)
        : apiKeys

  const uploadLimiter = new UploadRateLimiter({
    perMinute: options.uploads?.perMinute ?? 600,
    clock,
  })
  const router = createAppRouter(darkroom, {
    serverStore,
    authenticate,
    guestUploads: guestUploads ? { ownerId: GUEST_CALLER.ownerId } : null,
    clock,
    rateLimit: ({ caller, guest, ip }) =>
      uploadLimiter.take(UploadRateLimiter.bucketOf(caller, guest, ip)),
  })
  const trpc = createHTTPHandler({
    router,
    createContext,
    basePath: `${basePath}/trpc/`,
    maxBodySize: Math.max(darkroom.config.limits.maxFileBytes, 512 * 1024 * 1024),
    responseMeta: ({ errors }) => {
      const limited = errors.find((e) => isDarkroomError(e.cause) && e.cause.retryAfterMs)
      const retryAfterMs = limited && isDarkroomError(limited.cause) && limited.cause.retryAfterMs
      return retryAfterMs
        ? { headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } }
        : {}
    },
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') {
        logger.error({ err: error.cause ?? error, path }, 'tRPC procedure failed')
      }
    },
  })

  const uploadStore = options.uploads?.store
  const files = createFilesHandler({
    ...(options.uploads?.locker ? { locker: options.uploads.locker } : {}),
    darkroom,
    serverStore,
    authenticate,
    directory: options.uploads?.directory ?? join(options.dataDir, 'uploads'),
    path: `${basePath}/files`,
    expiryMs: options.uploads?.expiryMs ?? 24 * 3_600_000,
    guestUploads,
    uploadLimiter,
    logger,
    clock,
    ...(uploadStore ? { uploadStore } : {}),
  })

  const cache = new DiskCache(join(options.dataDir, 'cache'))
  const ownerOf = (id: string) => darkroom.photos.ownerOf(id)
  const unsubscribe = darkroom.events.on('photo.deleted', (event) => {
    if (event.subjectId) void cache.evict(event.subjectId).catch(() => undefined)
  })
  // Pictures also accept the key from the gallery's HttpOnly cookie (see session.ts).
  const pictureAuth = withKeyCookie(authenticate)
  const image = createImageRoute({
    darkroom,
    authenticate: pictureAuth,
    signingSecret: options.signingSecret,
    cache,
    queue: new TransformQueue({
      maxConcurrent: options.images?.maxConcurrent ?? 4,
      maxQueue: options.images?.maxQueue ?? 64,
    }),
    ownerOf,
    logger,
    clock,
  })
  const photo = createPhotoRoute({
    darkroom,
    authenticate: pictureAuth,
    signingSecret: options.signingSecret,
    ownerOf,
    logger,
    clock,
  })
  const health = createHealthRoute({ serverStore, darkroom, logger })
  const session = createSessionRoute({ authenticate, basePath, logger })

  const node = createRouter(
    basePath,
    [
      { prefix: '/trpc', handle: (req, res) => trpc(req, res) },
      // The files handler is Fetch-native; srvx adapts it to this Node router.
      {
        prefix: '/files',
        handle: async (req, res) =>
          sendNodeResponse(res, await files.handle(new NodeRequest({ req, res }))),
      },
      { prefix: '/image/', handle: image, relative: true },
      { prefix: '/photos/', handle: photo, relative: true },
      { prefix: '/healthz', handle: health, relative: true },
      { prefix: '/session', handle: session, relative: true },
    ],
    logger,
  )

  return {
    node,
    router,
    authenticate,
    cleanupExpiredUploads: () => files.cleanupExpired(),
    async close() {
      unsubscribe()
      uploadStore?.close?.()
    },
  }
}

/** `/media/` → `/media`, `/` → ''. A base path must start with a slash. */
function normalizeBasePath(path: string): string {
  const trimmed = path.replace(/\/+$/, '')
  if (trimmed !== '' && !/^\/[A-Za-z0-9._~\-/]*$/.test(trimmed)) {
    throw new TypeError(`createDarkroomHandler: basePath ${JSON.stringify(path)} must start with /`)
  }
  return trimmed
}
