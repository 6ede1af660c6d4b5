import type { IncomingMessage, ServerResponse } from 'node:http'
import { pinoHttp } from 'pino-http'
import type { Logger } from '../logger.js'

/**
 * One log line per request through `pino-http`, written when the response finishes (or the
 * connection closes first): method, route label, status, `responseTime` in ms, and the request
 * as `{ id, method, url, remoteAddress }`. Refusals are logged like the rest (4xx at `warn`,
 * 5xx at `error`); successful `/healthz`, `/metrics`, `/image` and `/photos` answers at
 * `debug`, so probes, scrapes and the many picture requests of a gallery do not drown the log.
 *
 * What never reaches the log: request and response headers (so no `Authorization`, `Cookie`
 * or `Set-Cookie`), bodies, API keys anywhere in the URL (`sk_...`), the `sig` of a signed
 * image URL (a credential until it expires) and the `input` of a tRPC query (call arguments,
 * the tRPC equivalent of a body).
 */

/**
 * Routes whose successful answers are logged at `debug`: probes and scrapes, and the picture
 * routes, where one gallery page is dozens of image requests (a tenth of a cached hit's cost
 * went into its log line, in the image benchmark). Their refusals are logged like any other.
 */
const QUIET_ROUTES = new Set(['healthz', 'metrics', 'image', 'photos'])

export type RequestLog = (req: IncomingMessage, res: ServerResponse, route: string) => void

export function createRequestLog(logger: Logger): RequestLog {
  const routes = new WeakMap<IncomingMessage, string>()
  // The route goes into the line itself, not into `customProps`: those make a child logger per
  // request at its start and again at its end, a cost the image benchmark showed.
  const withRoute = (req: IncomingMessage, value: object) => ({
    ...value,
    route: routes.get(req) ?? 'unknown',
  })
  const log = pinoHttp({
    logger,
    customSuccessObject: (req, _res, value) => withRoute(req, value),
    customErrorObject: (req, _res, _error, value) => withRoute(req, value),
    customLogLevel: (req, res, error) => {
      const status = statusOf(res)
      if (error || status >= 500) return 'error'
      if (status >= 400) return 'warn'
      return QUIET_ROUTES.has(routes.get(req) ?? '') ? 'debug' : 'info'
    },
    customSuccessMessage: (req, res) =>
      `${req.method} ${routes.get(req) ?? 'unknown'} ${statusOf(res) === 499 ? 'aborted' : statusOf(res)}`,
    customErrorMessage: (req, res) =>
      `${req.method} ${routes.get(req) ?? 'unknown'} ${statusOf(res)}`,
    serializers: {
      req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({
        id: req.id,
        method: req.method,
        url: redactUrl(req.url),
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number; raw?: ServerResponse }) => ({
        statusCode: res.raw ? statusOf(res.raw) : res.statusCode,
      }),
    },
  })
  return (req, res, route) => {
    routes.set(req, route)
    log(req, res)
  }
}

/** The status sent, or 499 when the client went away before an answer (nginx's convention). */
function statusOf(res: ServerResponse): number {
  return res.headersSent || res.writableFinished ? res.statusCode : 499
}

const SECRET_PARAMS = new Set(['sig', 'input', 'key', 'token', 'access_token'])

/**
 * The URL with API keys and credential-like query values replaced by `[REDACTED]`; the path
 * and the other parameters stay as they are.
 */
export function redactUrl(url: string | undefined): string {
  const text = (url ?? '').replace(/sk_[0-9A-Za-z]+/g, 'sk_[REDACTED]')
  const question = text.indexOf('?')
  if (question === -1) return text
  const query = text
    .slice(question + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=')
      const name = eq === -1 ? pair : pair.slice(0, eq)
      let decoded = name
      try {
        decoded = decodeURIComponent(name)
      } catch {
        // A malformed name is kept as sent.
      }
      return eq !== -1 && SECRET_PARAMS.has(decoded.toLowerCase()) ? `${name}=[REDACTED]` : pair
    })
    .join('&')
  return `${text.slice(0, question)}?${query}`
}
