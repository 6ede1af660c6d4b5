import type { Logger } from './logger.js'
import { HttpProblem } from './errors.js'
import { errorResponse } from './internal/responses.js'

/**
 * A route answers a request under the handler's base path. `path` is the request's path with
 * the base path removed (routes that parse their own URLs use it, so a signed URL does not
 * depend on where the handler is mounted); `url` is the whole URL.
 */
export type Route = (request: Request, path: string, url: URL) => Promise<Response>

export interface RouteEntry {
  /** `/trpc` matches `/trpc` and `/trpc/...`, not `/trpcx`. */
  prefix: string
  handle: Route
  /** The route is the prefix alone: a path under it (`/healthz/x`) is a JSON 404. */
  exact?: boolean
  /**
   * The route takes only the paths under its prefix that match: others are not the handler's
   * (an app behind it, such as the gallery's `/albums/<id>` pages, answers them).
   */
  only?: RegExp
}

export interface Router {
  /** The path under the base path when a route takes `pathname`, else null. */
  match(pathname: string): { path: string; route: RouteEntry } | null
  /** The route's answer; a route that throws gets the mapped error. */
  dispatch(
    request: Request,
    url: URL,
    matched: { path: string; route: RouteEntry },
  ): Promise<Response>
}

export function createRouter(
  basePath: string,
  routes: readonly RouteEntry[],
  logger: Logger,
): Router {
  return {
    match(pathname) {
      const inside = basePath === '' || pathname === basePath || pathname.startsWith(`${basePath}/`)
      if (!inside) return null
      const path = pathname.slice(basePath.length) || '/'
      const route = routes.find(
        (r) =>
          (path === r.prefix ||
            path.startsWith(r.prefix.endsWith('/') ? r.prefix : `${r.prefix}/`)) &&
          (!r.only || r.only.test(path)),
      )
      return route ? { path, route } : null
    },
    async dispatch(request, url, { path, route }) {
      if (route.exact && path !== route.prefix) return errorResponse(notFound())
      try {
        return await route.handle(request, path, url)
      } catch (error) {
        return errorResponse(error, logger)
      }
    },
  }
}

export function notFound(): HttpProblem {
  return new HttpProblem(404, 'NOT_FOUND', 'Not found.')
}
