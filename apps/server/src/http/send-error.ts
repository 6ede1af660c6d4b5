import type { ServerResponse } from 'node:http'
import { toHttpError } from '@darkroom/http'
import type { Logger } from '../logger.js'

/**
 * Answers the server's own routes' errors (the gallery, `/metrics`) exactly as
 * `@darkroom/http` answers its own: the mapped status and JSON body, the error's headers
 * (`Allow`, `WWW-Authenticate`, `Retry-After`). An answer already under way is cut instead.
 */
export function sendError(res: ServerResponse, error: unknown, logger: Logger): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const { status, body, headers } = toHttpError(error, logger)
  const text = JSON.stringify(body)
  res.writeHead(status, {
    ...headers,
    ...((error as { headers?: Record<string, string> } | null)?.headers ?? {}),
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  })
  res.end(text)
}
