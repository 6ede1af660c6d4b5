import type { ServerResponse } from 'node:http'
import type { Logger } from '../logger.js'
import { toHttpError } from '../errors.js'

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  })
  res.end(text)
}

/** Answers with the mapped status and JSON body of `error` (see errors.ts). */
export function sendError(
  res: ServerResponse,
  error: unknown,
  logger?: Logger,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const mapped = toHttpError(error, logger)
  const extra = (error as { headers?: Record<string, string> })?.headers ?? {}
  sendJson(res, mapped.status, mapped.body, { ...headers, ...mapped.headers, ...extra })
}
