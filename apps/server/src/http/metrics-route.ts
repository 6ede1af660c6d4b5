import type { IncomingMessage, ServerResponse } from 'node:http'
import { isAdmin } from '@darkroom/core'
import { HttpProblem } from '@darkroom/http'
import { toHeaders, type Authenticate } from '@darkroom/trpc'
import type { Logger } from '../logger.js'
import type { ServerMetrics } from '../metrics/server-metrics.js'
import { sendError } from './send-error.js'

/**
 * `GET /metrics`: the Prometheus text exposition. On the main port it answers only to an admin
 * API key (`Authorization: Bearer sk_...`; Prometheus' `authorization.credentials_file`); on
 * the `METRICS_PORT` listener, meant for a private interface, `authenticate` is null and it
 * answers anyone. With metrics off (`METRICS=false`) it is a 404 that says so.
 */
export function createMetricsRoute(options: {
  metrics: ServerMetrics | null
  /** Who may read: an admin caller of this; null: anyone (the private listener). */
  authenticate: Authenticate | null
  logger: Logger
}) {
  const { metrics, authenticate, logger } = options
  return async function metricsRoute(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const pathname = (req.url ?? '/').split('?')[0]
      if (pathname !== '/metrics') throw new HttpProblem(404, 'NOT_FOUND', 'Not found.')
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        throw new HttpProblem(405, 'METHOD_NOT_ALLOWED', 'Use GET or HEAD.', { Allow: 'GET, HEAD' })
      }
      if (!metrics) {
        throw new HttpProblem(404, 'NOT_FOUND', 'Metrics are off on this server (METRICS=false).')
      }
      if (authenticate) {
        const caller = await authenticate({ headers: toHeaders(req.headers) })
        if (!caller) {
          throw new HttpProblem(401, 'UNAUTHORIZED', 'Metrics need an admin API key.', {
            'WWW-Authenticate': 'Bearer',
          })
        }
        if (!isAdmin(caller)) {
          throw new HttpProblem(403, 'FORBIDDEN', 'Metrics need an API key with the admin scope.')
        }
      }
      const { contentType, body } = await metrics.render()
      res.writeHead(200, {
        'Content-Type': contentType,
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
      })
      res.end(req.method === 'HEAD' ? undefined : body)
    } catch (error) {
      sendError(res, error, logger)
    }
  }
}
