import { errorResponse } from './internal/responses.js'
import { notFound, type Route } from './router.js'

/**
 * `/api/...` is reserved for the REST twin of the procedures and its OpenAPI document, which
 * are not served yet. Until a dispatcher of those routes replaces this module, every path under
 * it answers Darkroom's JSON 404 whatever the method, so an API client (a seed's own
 * `GET /api/v1/photos`) gets an error it can read, never the web gallery's HTML.
 */
export function createApiNotFoundRoute(): Route {
  return async () => errorResponse(notFound())
}
