import { join } from 'node:path'
import {
  maxUploadBytes,
  systemClock,
  type Caller,
  type Clock,
  type Darkroom,
  type ServerStore,
} from '@darkroom/core'
import {
  apiKeyAuthenticator,
  combineAuthenticators,
  createAppRouter,
  FILE_FIELDS,
  sessionAuthenticator,
  MAX_FORM_FILE_BYTES,
  type AppRouter,
  type Authenticate,
  type WebhookRules,
  type UploadPolicy,
} from '@darkroom/trpc'
import type { Locker } from '@tus/utils'
import { GUEST_CALLER } from './auth.js'
import { clientAddressFor, type TrustProxy } from './client-address.js'
import { createCors, type CorsOptions } from './cors.js'
import { createFilesHandler, type FilesHandlerOptions } from './files.js'
import { createHealthRoute } from './health.js'
import { createImageRoute } from './images.js'
import { createImageUrlSigner } from './image-url-signer.js'
import { DEFAULT_SIGNED_WIDTHS, MAX_EDGE, MAX_LADDER_RUNGS } from './signed-urls.js'
import { DiskCache } from './internal/disk-cache.js'
import { errorResponse } from './internal/responses.js'
import { TransformQueue } from './internal/transform-queue.js'
import { silentLogger, type Logger } from './logger.js'
import { ipOf, toNodeHandler, type NodeHandler } from './node-adapter.js'
import { receiveForm, removeStaleForms } from './api/multipart.js'
import { readJson } from './api/json-body.js'
import { BodyBudget } from './api/body-budget.js'
import { createPhotoRoute } from './photos.js'
import { createArchiveRoute } from './archives.js'
import { createApiRoute } from './rest/api-route.js'
import { mountProfiles, type ProfileMount } from './profiles/mount.js'
import { UploadRateLimiter } from './rate-limit.js'
import { createRouter, notFound } from './router.js'
import { createSessionRoute, withSessionCookie } from './session.js'
import { createTrpcRoute } from './trpc-route.js'

/** The rendered-image cache's default budget on disk. */
export const DEFAULT_IMAGE_CACHE_BYTES = 512 * 1024 * 1024

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
  /**
   * The full public path the handler answers under, e.g. `/media`; default '' (the root).
   * Mounted in Express with `app.use('/media', handler.node)` it is still `/media`.
   */
  basePath?: string
  /** Browser pages of other origins allowed to call it; default none (same origin only). */
  cors?: CorsOptions | false
  /**
   * Anonymous uploads (tRPC `photos.upload`, tus, the REST twin) as owner `guest`; default
   * false. A guest learns nothing of other guests' photos (a duplicate names none), and its
   * tus uploads answer only to the browser that made them (an HttpOnly cookie).
   */
  guestUploads?: boolean
  /**
   * The proxies in front of the handler whose `X-Forwarded-For` is believed, so that guests'
   * per-address limits see each client rather than the proxy: a hop count, or the proxies'
   * addresses and CIDR ranges (`loopback`, `linklocal`, `uniquelocal` name those ranges). The
   * client is the rightmost address that is not a trusted proxy. Default none: the header is
   * ignored and the peer's address is the client's. With a proxy trusted, its
   * `X-Forwarded-Proto: https` also counts as https (the session cookie gets `Secure`).
   */
  trustProxy?: TrustProxy
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
    /**
     * Unfinished tus uploads one owner may hold: how many (default 50) and the bytes they
     * declare in all (default 20 times the largest upload allowed). Past either, a new one is
     * refused (400 `CAP_EXCEEDED`, `unfinishedUploads`) until one finishes, is terminated or expires.
     */
    maxUnfinished?: { count?: number; bytes?: number }
  }
  /**
   * Bytes of request bodies the handler holds at once, across every request (JSON in memory,
   * multipart files in temporary files; not tus uploads). A body whose declared length does not
   * fit now is refused before it is read (503 with `Retry-After`), one larger than this (413);
   * one without a length is cut off with a 503 when it passes the room left. Default 1 GiB.
   */
  maxBodyBytesInFlight?: number
  archives?: {
    /**
     * Album zips (`/albums/{id}.zip`) streamed at once; one more is a 503 with `Retry-After`.
     * Default 4: each reads every photo before its range from storage.
     */
    maxConcurrent?: number
  }
  images?: {
    /**
     * Renders at once; default the engine's render slots (`transforms.concurrency`: half the
     * cores), which are apart from ingest's, so renders never hold the slots uploads need.
     */
    maxConcurrent?: number
    /** Renders allowed to wait; more get 503 with `Retry-After`. Default 64. */
    maxQueue?: number
    /**
     * The most the rendered-image cache (`<dataDir>/cache`) may take on disk; past it the least
     * recently used renditions are removed. Default 512 MB.
     */
    cacheMaxBytes?: number
    /**
     * The sizes (px, widths and heights alike) an unsigned request by anyone but the photo's
     * owner snaps up to; such requests may not set `q`. Default `DEFAULT_PUBLIC_SIZES` (100 to
     * 2560). Anything else needs a signed URL.
     */
    publicSizes?: readonly number[]
    /**
     * The widths `photos.signUrls` signs, as one ladder per srcset (at most 32). Default
     * `DEFAULT_SIGNED_WIDTHS`: Next.js's default `imageSizes` and `deviceSizes`, 16 to 3840.
     */
    signedWidths?: readonly number[]
  }
  /** Where webhooks may point (public addresses on 80/443 by default) and how many per owner. */
  webhooks?: WebhookRules
  /**
   * Seed APIs served verbatim beside Darkroom's own routes, by name (`'events'`) or your own
   * `Profile`, each at the base path or under its own (`{ profile: 'social', basePath: '/social' }`).
   * Default none.
   */
  profiles?: readonly ProfileMount[]
  logger?: Logger
  clock?: Clock
}

export interface DarkroomHandler {
  /**
   * The Fetch form, `(Request) => Promise<Response>`: Hono, Next.js route handlers, Bun, Deno.
   * `info.ip` is the peer's address when the platform knows it (per-IP limits on guests; behind
   * a proxy, see `trustProxy`).
   * A path outside the handler's routes answers a JSON 404, and so does an unknown path under
   * one of its prefixes, whatever the method.
   */
  fetch(request: Request, info?: { ip?: string }): Promise<Response>
  /**
   * The Node form, `(req, res, next?)`: node:http, Express, Connect, Fastify (`reply.raw`). A
   * path outside its routes goes to `next` when given, else a JSON 404. Upload bodies are
   * streamed in both forms, never buffered whole.
   */
  node: NodeHandler
  /** Whether a request path is one of the handler's (for frameworks that route first). */
  owns(pathname: string): boolean
  /** The tRPC router it serves, e.g. for `createCaller` in server-side code. */
  router: AppRouter
  /** The authentication every route uses (API keys, then the app's hook). */
  authenticate: Authenticate
  /** Removes unfinished uploads past their expiry; run it on a timer or a job queue. */
  cleanupExpiredUploads(): Promise<number>
  /**
   * Ingests, as their owners, the complete uploads a stop (a crash, a deploy) left unfinished,
   * and removes the temporary files of forms it cut off; run it once at start. Returns how many
   * uploads became photos (or failed for their bytes).
   */
  recoverUploads(): Promise<number>
  /** Stops what the handler holds open (the S3 upload client); the engine stays open. */
  close(): Promise<void>
}

/**
 * Everything Darkroom serves over HTTP, as one handler: `/trpc` (the typed API), `/files`
 * (tus resumable uploads), `/image/...` (on-the-fly renditions), `/photos/...` (stored
 * variants), `/albums/{id}.zip` (an album streamed as a zip), `/session` (the picture cookie), `/healthz`, and `/api` (the REST twin under
 * `/api/darkroom/v1`, its OpenAPI document at `/api/openapi.json` and page at `/api/docs`, a
 * JSON 404 for the rest of `/api` that no seed profile takes), under `basePath`. Nothing here
 * reads `process.env`: the app passes everything in.
 *
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
  // Session tokens (`ds_`, from `/session`) stand for a key or an app's caller: always on.
  const sessions = sessionAuthenticator(serverStore, { clock })
  const authenticate: Authenticate = combineAuthenticators(
    ...(options.apiKeys === false ? [] : [apiKeys]),
    sessions,
    ...(options.authenticate ? [options.authenticate] : []),
  )

  const uploadLimiter = new UploadRateLimiter({
    perMinute: options.uploads?.perMinute ?? 600,
    clock,
  })
  // The router's upload rules; the REST twin's multipart upload admits by the same.
  const uploadPolicy: UploadPolicy = {
    guestUploads: guestUploads ? { ownerId: GUEST_CALLER.ownerId } : null,
    rateLimit: ({ caller, guest, ip }) =>
      uploadLimiter.take(UploadRateLimiter.bucketOf(caller, guest, ip)),
  }
  const signedWidths = options.images?.signedWidths ?? DEFAULT_SIGNED_WIDTHS
  if (
    signedWidths.length === 0 ||
    new Set(signedWidths).size > MAX_LADDER_RUNGS ||
    !signedWidths.every(isEdge)
  ) {
    throw new TypeError(
      `createDarkroomHandler: images.signedWidths must be 1 to ${MAX_LADDER_RUNGS} whole ` +
        `numbers from 1 to ${MAX_EDGE}`,
    )
  }
  const router = createAppRouter(darkroom, {
    serverStore,
    authenticate,
    clock,
    // Signed srcsets (`photos.signUrls`) point where `/image` is served: the public base URL
    // when the engine has one (as variant links do), else this handler's base path.
    signImageUrls: createImageUrlSigner({
      secret: options.signingSecret,
      ladder: signedWidths,
      prefix: darkroom.config.publicBaseUrl || basePath,
    }),
    ...uploadPolicy,
    ...(options.webhooks ? { webhooks: options.webhooks } : {}),
  })
  // The client's address (guests' per-address limits): the peer's (given to `fetch`, or the
  // Node socket's), or the one trusted proxies forwarded.
  const ips = new WeakMap<Request, string>()
  const clientAddress = clientAddressFor(options.trustProxy)
  const clientIp = (request: Request) =>
    clientAddress(ipOf(request, ips.get(request)), request.headers)
  const limits = darkroom.config.limits
  const budget = new BodyBudget(options.maxBodyBytesInFlight ?? 1024 * 1024 * 1024)
  const formOptions = (fileFields: readonly string[], maxFileBytes = limits.maxFileBytes) => ({
    directory: join(options.dataDir, 'tmp'),
    maxFileBytes,
    maxFiles: limits.maxFilesPerBatch,
    maxBodyBytes: Math.max(limits.maxFileBytes, 512 * 1024 * 1024),
    fileFields,
    budget,
  })
  // A form's file may be a video (up to the form's own cap) when videos are on.
  const video = darkroom.config.video
  const maxFormFileBytes = video.enabled
    ? Math.max(limits.maxFileBytes, Math.min(video.maxFileBytes, MAX_FORM_FILE_BYTES))
    : limits.maxFileBytes
  const trpc = createTrpcRoute({
    router,
    endpoint: `${basePath}/trpc`,
    receiveForm: (request) => receiveForm(request, formOptions(FILE_FIELDS, maxFormFileBytes)),
    ipOf: clientIp,
    budget,
    logger,
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
    unfinished: {
      count: options.uploads?.maxUnfinished?.count ?? 50,
      bytes: options.uploads?.maxUnfinished?.bytes ?? 20 * maxUploadBytes(darkroom.config),
    },
    guestUploads,
    trustProxy: options.trustProxy !== undefined,
    uploadLimiter,
    ipOf: clientIp,
    logger,
    clock,
    ...(uploadStore ? { uploadStore } : {}),
  })

  const publicSizes = options.images?.publicSizes
  if (publicSizes && (publicSizes.length === 0 || !publicSizes.every(isEdge))) {
    throw new TypeError(
      `createDarkroomHandler: images.publicSizes must be whole numbers from 1 to ${MAX_EDGE}`,
    )
  }
  const cache = new DiskCache(join(options.dataDir, 'cache'), {
    maxBytes: options.images?.cacheMaxBytes ?? DEFAULT_IMAGE_CACHE_BYTES,
  })
  const ownerOf = (id: string) => darkroom.photos.ownerOf(id)
  const unsubscribe = darkroom.events.on('photo.deleted', (event) => {
    if (event.subjectId) void cache.evict(event.subjectId).catch(() => undefined)
  })
  // Pictures also accept the gallery's HttpOnly session cookie (see session.ts).
  const pictureAuth = withSessionCookie(authenticate)
  const image = createImageRoute({
    darkroom,
    authenticate: pictureAuth,
    signingSecret: options.signingSecret,
    cache,
    queue: new TransformQueue({
      maxConcurrent: options.images?.maxConcurrent ?? darkroom.stats().renders.max,
      maxQueue: options.images?.maxQueue ?? 64,
    }),
    ownerOf,
    ...(publicSizes ? { publicSizes } : {}),
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
  const archive = createArchiveRoute({
    darkroom,
    authenticate: pictureAuth,
    logger,
    ...(options.archives?.maxConcurrent !== undefined
      ? { maxConcurrent: options.archives.maxConcurrent }
      : {}),
  })
  const health = createHealthRoute({ serverStore, darkroom, logger })
  const session = createSessionRoute({
    authenticate,
    serverStore,
    basePath,
    trustProxy: options.trustProxy !== undefined,
    logger,
    clock,
  })
  const api = createApiRoute({
    router,
    darkroom,
    authenticate,
    uploadPolicy,
    basePath,
    receiveForm: (request, fileFields) =>
      receiveForm(request, formOptions(fileFields, maxFormFileBytes)),
    maxFileBytes: maxFormFileBytes,
    ipOf: clientIp,
    budget,
    logger,
  })

  const routes = createRouter(
    basePath,
    [
      { prefix: '/trpc', handle: trpc },
      { prefix: '/files', handle: (request) => files.handle(request) },
      { prefix: '/image', handle: image },
      { prefix: '/photos', handle: photo },
      // Only the zips: `/albums/<id>` is the gallery's page of an album.
      { prefix: '/albums', handle: archive, only: /^\/albums\/[^/]+\.zip$/ },
      { prefix: '/healthz', handle: health, exact: true },
      { prefix: '/session', handle: session, exact: true },
      { prefix: '/api', handle: api },
    ],
    logger,
  )
  // The seed profiles' uploads and copies take the same tokens as tRPC's and REST's.
  const limitUpload = async (request: Request, caller: Caller) => {
    await uploadPolicy.rateLimit?.({
      caller,
      guest: caller === GUEST_CALLER,
      headers: request.headers,
      ip: clientIp(request),
    })
  }
  const profiles = mountProfiles(options.profiles ?? [], {
    darkroom,
    serverStore,
    authenticate,
    guestCaller: guestUploads ? GUEST_CALLER : null,
    receiveForm: async (request, { fileFields, caller }) => {
      await limitUpload(request, caller)
      return receiveForm(request, formOptions(fileFields))
    },
    limitUpload,
    readJson: (request) => readJson(request, undefined, budget),
    basePath,
    dataDir: options.dataDir,
    clock,
    logger,
  })
  const cors = createCors(options.cors)
  const inside = (pathname: string) =>
    basePath === '' || pathname === basePath || pathname.startsWith(`${basePath}/`)
  const owns = (pathname: string) =>
    routes.match(pathname) !== null ||
    (inside(pathname) && profiles.owns(pathname.slice(basePath.length) || '/'))

  async function handle(request: Request): Promise<Response> {
    // The preflight answer is final: `cors.apply` would strip its Allow-Methods/Headers.
    const preflight = cors.preflight(request)
    if (preflight) return preflight
    const url = new URL(request.url)
    // tus bodies are written where they stay, bounded by the unfinished-uploads caps; /trpc
    // takes its reservation itself, to refuse in tRPC's error shape.
    const under = (prefix: string) =>
      url.pathname === `${basePath}${prefix}` || url.pathname.startsWith(`${basePath}${prefix}/`)
    if (under('/files') || under('/trpc')) return route(request, url)
    try {
      budget.open(request)
    } catch (error) {
      // Refused unread: the connection cannot carry another request after it.
      const refused = errorResponse(error, logger, { Connection: 'close' })
      return cors.apply(request, refused, false)
    }
    try {
      return await route(request, url)
    } finally {
      budget.close(request)
    }
  }

  async function route(request: Request, url: URL): Promise<Response> {
    const profiled = inside(url.pathname)
      ? profiles.dispatch(request, url.pathname.slice(basePath.length) || '/', url)
      : null
    if (profiled) return cors.apply(request, closeIfRefused(await profiled), false)
    const matched = routes.match(url.pathname)
    const response = matched
      ? await routes.dispatch(request, url, matched)
      : errorResponse(notFound())
    return cors.apply(request, closeIfRefused(response), matched?.route.prefix === '/files')
  }

  return {
    fetch(request, info) {
      if (info?.ip) ips.set(request, info.ip)
      return handle(request)
    },
    node: toNodeHandler({ owns, handle, notFound: () => errorResponse(notFound()) }),
    owns,
    router,
    authenticate,
    cleanupExpiredUploads: () => files.cleanupExpired(),
    async recoverUploads() {
      // Forms a stop cut off while they were received: an hour is longer than any request.
      await removeStaleForms(join(options.dataDir, 'tmp'), 3_600_000)
      return files.recoverInterrupted()
    },
    async close() {
      unsubscribe()
      uploadStore?.close?.()
    },
  }
}

/**
 * A body refused as too large was left unread: the connection cannot carry another request
 * after it, so the answer says so (a kept-alive client would otherwise send its next request
 * into a socket that is about to close).
 */
function closeIfRefused(response: Response): Response {
  if (response.status === 413) response.headers.set('Connection', 'close')
  return response
}

function isEdge(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_EDGE
}

/** `/media/` → `/media`, `/` → ''. A base path must start with a slash. */
function normalizeBasePath(path: string): string {
  const trimmed = path.replace(/\/+$/, '')
  if (trimmed !== '' && !/^\/[A-Za-z0-9._~\-/]*$/.test(trimmed)) {
    throw new TypeError(`createDarkroomHandler: basePath ${JSON.stringify(path)} must start with /`)
  }
  return trimmed
}
