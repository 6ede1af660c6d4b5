import { NodeResponse } from 'srvx/node'
import type { Logger } from '../logger.js'
import { toHttpError } from '../errors.js'

/**
 * Responses are srvx's `NodeResponse`: a real `Response` to a Fetch caller, and, when the
 * handler is mounted in Node, written straight to the `ServerResponse` (a Buffer or a Node
 * stream body is piped as it is, never turned into a web stream and back).
 */

export type HeaderMap = Record<string, string>

export function json(status: number, body: unknown, headers: HeaderMap = {}): Response {
  const text = JSON.stringify(body)
  return new NodeResponse(text, {
    status,
    headers: {
      ...headers,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(text)),
      'Cache-Control': 'no-store',
    },
  })
}

/** The mapped status and JSON body of `error` (see errors.ts); unknown errors are logged once. */
export function errorResponse(error: unknown, logger?: Logger, headers: HeaderMap = {}): Response {
  const mapped = toHttpError(error, logger)
  const extra = (error as { headers?: HeaderMap } | null)?.headers ?? {}
  return json(mapped.status, mapped.body, { ...headers, ...mapped.headers, ...extra })
}

/** An empty answer (204, 304, a HEAD) with these headers. */
export function empty(status: number, headers: HeaderMap = {}): Response {
  return new NodeResponse(null, { status, headers })
}
