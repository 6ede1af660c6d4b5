import type { IncomingHttpHeaders } from 'node:http'
import type { Caller, Clock, Darkroom, IdGenerator, ServerStore } from '@darkroom/core'

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

/**
 * The adapter-facing `createContext`: works as is with the fetch adapter (`{ req: Request }`)
 * and the Node/standalone adapter (`{ req: IncomingMessage }`).
 *
 * @example
 * createHTTPServer({ router: createAppRouter(darkroom, { serverStore }), createContext })
 */
export function createContext(opts: {
  req: { headers: Headers | IncomingHttpHeaders }
}): RequestContext {
  return { headers: toHeaders(opts.req.headers) }
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
