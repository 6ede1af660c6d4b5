import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from './logger.js'
import { HttpProblem } from './errors.js'
import { sendError } from './internal/respond.js'

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void

export interface Route {
  /** `/trpc` matches `/trpc` and `/trpc/...`, not `/trpcx`; `/image/` only what is under it. */
  prefix: string
  handle: RouteHandler
  /**
   * The handler sees the path with the base path removed (it parses its own URLs); without it,
   * the full path (tRPC and tus are told the base path themselves).
   */
  relative?: boolean
}

/**
 * Dispatches a request under `basePath` to the first route whose prefix matches; a request
 * outside every route goes to `next` when there is one (Express, Connect), else 404. The path
 * is read from `originalUrl` when a framework has rewritten `url` for a mounted app (Express'
 * `app.use('/media', handler)`), so `basePath` is always the full public path. A handler that
 * throws gets the mapped error (or its connection closed if the answer had started).
 */
export function createRouter(basePath: string, routes: readonly Route[], logger: Logger) {
  return async (
    req: IncomingMessage,
    res: ServerResponse,
    next?: (error?: unknown) => void,
  ): Promise<void> => {
    const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/'
    const pathname = url.split('?')[0] ?? '/'
    const inside = basePath === '' || pathname === basePath || pathname.startsWith(`${basePath}/`)
    const relative = inside ? pathname.slice(basePath.length) || '/' : null
    const route =
      relative === null
        ? undefined
        : routes.find(
            (r) =>
              relative === r.prefix ||
              relative.startsWith(r.prefix.endsWith('/') ? r.prefix : `${r.prefix}/`),
          )
    if (!route && next) return next()
    try {
      if (!route) throw new HttpProblem(404, 'NOT_FOUND', 'Not found.')
      req.url = route.relative ? url.slice(basePath.length) : url
      await route.handle(req, res)
    } catch (error) {
      sendError(res, error, logger)
    }
  }
}
