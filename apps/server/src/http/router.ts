import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '../logger.js'
import { HttpProblem } from './errors.js'
import { sendError } from './internal/respond.js'

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void

export interface Route {
  /** `/trpc` matches `/trpc` and `/trpc/...`, not `/trpcx`. */
  prefix: string
  handle: RouteHandler
}

/**
 * Dispatches a request to the first route whose prefix matches its path; 404 otherwise. A
 * handler that throws gets the mapped error (or closes the connection if it had started).
 */
export function createRouter(routes: readonly Route[], logger: Logger): RouteHandler {
  return async (req, res) => {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/'
    const route = routes.find(
      (r) =>
        pathname === r.prefix ||
        pathname.startsWith(r.prefix.endsWith('/') ? r.prefix : `${r.prefix}/`),
    )
    try {
      if (!route) throw new HttpProblem(404, 'NOT_FOUND', 'Not found.')
      await route.handle(req, res)
    } catch (error) {
      sendError(res, error, logger)
    }
  }
}
