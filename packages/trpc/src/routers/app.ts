import {
  systemClock,
  uuidV7Ids,
  type Clock,
  type Darkroom,
  type IdGenerator,
  type ServerStore,
} from '@darkroom/core'
import { apiKeyAuthenticator } from '../records/api-key-authenticator.js'
import type { WebhookRules } from '../records/webhooks.js'
import type { Authenticate, SignImageUrls, UploadRateLimit } from '../context.js'
import { createProcedures, router } from '../trpc.js'
import { albumsRouter } from './albums.js'
import { keysRouter } from './keys.js'
import { ownersRouter } from './owners.js'
import { photosRouter } from './photos.js'
import { uploadsRouter } from './uploads.js'
import { webhooksRouter } from './webhooks.js'

export interface AppRouterOptions {
  /** API keys, webhooks and upload states: `store.server` of `createSqliteStore`, or your own. */
  serverStore: ServerStore
  /** Request → caller. Default: `apiKeyAuthenticator(serverStore)` (`Authorization: Bearer sk_...`). */
  authenticate?: Authenticate
  /** Lets anonymous requests use `photos.upload` (only), as this owner with `photos.write`. */
  guestUploads?: { ownerId: string } | null
  /** Timestamps of keys and webhooks; default the system clock. */
  clock?: Clock
  /** Ids of keys and webhooks; default UUIDv7. */
  ids?: IdGenerator
  /** Runs before each `photos.upload`; throws `DarkroomError('RATE_LIMITED')` to refuse it. */
  rateLimit?: UploadRateLimit | null
  /** Where webhooks may point and how many an owner may have (see records/webhook-url.ts). */
  webhooks?: WebhookRules
  /**
   * Mints the signed srcsets of `photos.signUrls`; `createDarkroomHandler` passes its own (it
   * holds the signing secret and serves `/image`). Without it that procedure fails (500).
   */
  signImageUrls?: SignImageUrls | null
}

/**
 * The tRPC router over one engine. Its procedures carry core's names and call core with the
 * request's caller; errors are mapped once (see `trpc.ts`).
 *
 * @example
 * const router = createAppRouter(darkroom, { serverStore: store.server })
 * createHTTPServer({ router, createContext }).listen(3000)
 */
export function createAppRouter(darkroom: Darkroom, options: AppRouterOptions) {
  if (!darkroom) throw new TypeError('createAppRouter: the `darkroom` argument is required.')
  if (!options?.serverStore) {
    throw new TypeError('createAppRouter: the `serverStore` option is required.')
  }
  const guestOwner = options.guestUploads?.ownerId
  if (options.guestUploads && (typeof guestOwner !== 'string' || guestOwner.length === 0)) {
    throw new TypeError('createAppRouter: `guestUploads.ownerId` must be a non-empty string.')
  }
  const clock = options.clock ?? systemClock
  const p = createProcedures({
    darkroom,
    serverStore: options.serverStore,
    authenticate: options.authenticate ?? apiKeyAuthenticator(options.serverStore, { clock }),
    guestUploads: options.guestUploads ?? null,
    clock,
    ids: options.ids ?? uuidV7Ids,
    rateLimit: options.rateLimit ?? null,
    signImageUrls: options.signImageUrls ?? null,
  })
  return router({
    photos: photosRouter(p),
    albums: albumsRouter(p),
    owners: ownersRouter(p),
    keys: keysRouter(p),
    webhooks: webhooksRouter(p, options.webhooks),
    uploads: uploadsRouter(p),
  })
}

/** The router's type, for `createTRPCClient<AppRouter>`: the only thing clients import. */
export type AppRouter = ReturnType<typeof createAppRouter>
