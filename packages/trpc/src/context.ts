import type { IncomingHttpHeaders } from 'node:http'
import type { Caller, Clock, Darkroom, IdGenerator, Photo, ServerStore } from '@darkroom/core'

/**
 * Two contexts. The adapter builds a small `RequestContext` per HTTP request (its headers, or a
 * caller the embedding app already knows); the router, which holds the engine and the stores
 * given to `createAppRouter`, turns it into the `Context` every procedure sees, authenticating
 * once per request (a batch of ten calls looks the key up once).
 */

/** What the adapter's `createContext` returns. */
export interface RequestContext {
  /** The request's headers; `authenticate` reads them. */
  headers?: Headers
  /**
   * The caller, when the embedding app has already resolved it (its own session, a server-side
   * call, a test): `authenticate` is then not called. `null` means anonymous.
   */
  caller?: Caller | null
  /** The client's address (the Node adapter's socket), for per-IP limits on guests. */
  ip?: string
}

/** What procedures see. */
export interface Context {
  darkroom: Darkroom
  serverStore: ServerStore
  /** Null when the request carries no credentials. */
  caller: Caller | null
  clock: Clock
  ids: IdGenerator
}

/**
 * Maps a request to its caller: null when it carries no credentials this hook understands;
 * throws `DarkroomError('UNAUTHORIZED')` for credentials that are present but not valid. Plug
 * an app's own session or JWT check in here (`combineAuthenticators` keeps API keys working).
 */
export type Authenticate = (req: { headers: Headers }) => Promise<Caller | null>

/** The format policy of signed image URLs: one format, or `auto` (the browser's `Accept`). */
export type ImageUrlFormat = 'auto' | 'jpg' | 'png' | 'webp' | 'avif'

/** A srcset over one signature (`photos.signUrls`). */
export interface SignedImageUrls {
  /** The largest width's URL. */
  src: string
  /** `<url> <width>w, ...`, smallest first. */
  srcset: string
  /** The widths of `srcset`: the ladder (or the part asked for) up to the photo's width. */
  widths: number[]
  expiresAt: Date
}

/**
 * Mints the signed image URLs of `photos.signUrls` for a photo the caller owns. It belongs to
 * the HTTP layer, which holds the signing secret and serves the URLs (`createDarkroomHandler`
 * passes its own); throws `DarkroomError('VALIDATION')` for widths outside its ladder.
 */
export type SignImageUrls = (request: {
  photo: Photo
  format: ImageUrlFormat
  /** A part of the signer's ladder; default all of it. */
  widths?: readonly number[]
  expiresAt: Date
}) => SignedImageUrls

/**
 * Called before each upload request (`photos.upload`) with its caller; throws
 * `DarkroomError('RATE_LIMITED')` (429) to refuse it. `guest` is true for an anonymous request
 * let in by guest uploads, whose `ip` is then the one thing that tells clients apart.
 */
export type UploadRateLimit = (req: {
  caller: Caller
  guest: boolean
  headers: Headers | undefined
  ip: string | undefined
}) => void | Promise<void>

/**
 * The adapter-facing `createContext`: works as is with the fetch adapter (`{ req: Request }`)
 * and the Node/standalone adapter (`{ req: IncomingMessage }`).
 *
 * @example
 * createHTTPServer({ router: createAppRouter(darkroom, { serverStore }), createContext })
 */
export function createContext(opts: {
  req: { headers: Headers | IncomingHttpHeaders; socket?: { remoteAddress?: string | undefined } }
}): RequestContext {
  const ctx: RequestContext = { headers: toHeaders(opts.req.headers) }
  const ip = opts.req.socket?.remoteAddress
  if (ip) ctx.ip = ip
  return ctx
}

/**
 * A request context without a request: for tests and server-side calls.
 *
 * @example
 * const caller = createCallerFactory(router)(createContextInner({ caller: alice }))
 */
export function createContextInner(opts: { caller?: Caller | null; headers?: Headers } = {}) {
  const ctx: RequestContext = {}
  if (opts.headers !== undefined) ctx.headers = opts.headers
  if (opts.caller !== undefined) ctx.caller = opts.caller
  return ctx
}

/** Node's header object as a fetch `Headers` (what an `Authenticate` hook receives). */
export function toHeaders(headers: Headers | IncomingHttpHeaders): Headers {
  if (headers instanceof Headers) return headers
  const out = new Headers()
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    if (Array.isArray(value)) for (const v of value) out.append(name, v)
    else out.set(name, value)
  }
  return out
}
