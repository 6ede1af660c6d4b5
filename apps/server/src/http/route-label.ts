import type { IncomingMessage } from 'node:http'

/**
 * The low-cardinality name of what a request asked for, for metrics and logs. It never holds
 * a raw path, an id or anything else a client chooses freely:
 * - `/trpc/<path>`: the procedure path (`photos.list`) when every call of the (batched) request
 *   is one known procedure; `trpc` for a batch of several; `unknown` if any is not a procedure.
 * - `files`, `image`, `photos`, `healthz`, `session`, `api`, `metrics`: those routes, matched like
 *   `createDarkroomHandler`'s router does (the prefix itself or a path under it).
 * - `gallery`: any other GET or HEAD (the web gallery and its single-page fallback).
 * - `unknown`: anything else.
 */

export interface RequestLabel {
  route: string
  /** The known tRPC procedures the request calls, one entry per call (batches repeat). */
  procedures: string[]
}

const PREFIXES: readonly (readonly [prefix: string, route: string])[] = [
  ['/files', 'files'],
  ['/image', 'image'],
  ['/photos', 'photos'],
  ['/healthz', 'healthz'],
  ['/session', 'session'],
  ['/api', 'api'],
  ['/metrics', 'metrics'],
]

/** More calls than this in one batch are not split into procedures (the label stays bounded). */
const MAX_BATCH = 100

export function labelRequest(
  req: Pick<IncomingMessage, 'method' | 'url'>,
  procedures: ReadonlySet<string>,
): RequestLabel {
  const pathname = (req.url ?? '/').split('?')[0] ?? '/'
  if (pathname === '/trpc' || pathname.startsWith('/trpc/')) {
    const calls = pathname.slice('/trpc/'.length).split(',')
    if (calls.length > MAX_BATCH || !calls.every((call) => procedures.has(call))) {
      return { route: 'unknown', procedures: [] }
    }
    const distinct = new Set(calls)
    return { route: distinct.size === 1 ? calls[0]! : 'trpc', procedures: calls }
  }
  for (const [prefix, route] of PREFIXES) {
    if (pathname === prefix || pathname.startsWith(`${prefix}/`)) return { route, procedures: [] }
  }
  const method = req.method ?? 'GET'
  return { route: method === 'GET' || method === 'HEAD' ? 'gallery' : 'unknown', procedures: [] }
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** The request method as a label: the common ones as they are, anything else `other`. */
export function methodLabel(method: string | undefined): string {
  const upper = (method ?? 'GET').toUpperCase()
  return METHODS.has(upper) ? upper : 'other'
}
