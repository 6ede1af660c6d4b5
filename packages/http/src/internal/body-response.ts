import { createReadStream } from 'node:fs'
import type { Readable } from 'node:stream'
import { NodeResponse } from 'srvx/node'
import { empty, type HeaderMap } from './responses.js'

/**
 * Conditional and ranged answers shared by the picture routes: `If-None-Match` → 304 (weak
 * comparison, `*` included), `Range: bytes=` with one range → 206 (honouring `If-Range`), an
 * unsatisfiable one → 416, several ranges → the whole body (allowed by RFC 9110).
 */

export interface ByteSpan {
  start: number
  /** Inclusive. */
  end: number
}

export type RangeRequest =
  { kind: 'none' } | { kind: 'span'; span: ByteSpan } | { kind: 'unsatisfiable' }

/** The request's single byte range against a body of `size` bytes. */
export function parseRange(request: Request, size: number, etag: string): RangeRequest {
  const header = request.headers.get('range')
  if (!header || (request.method !== 'GET' && request.method !== 'HEAD')) return { kind: 'none' }
  const ifRange = request.headers.get('if-range')
  if (ifRange !== null && ifRange !== etag) return { kind: 'none' }
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!match || (match[1] === '' && match[2] === '')) return { kind: 'none' }
  let start: number
  let end: number
  if (match[1] === '') {
    const suffix = Number(match[2])
    if (suffix === 0) return { kind: 'unsatisfiable' }
    start = Math.max(0, size - suffix)
    end = size - 1
  } else {
    start = Number(match[1])
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1)
    if (match[2] !== '' && Number(match[2]) < start) return { kind: 'none' }
  }
  if (start >= size || size === 0) return { kind: 'unsatisfiable' }
  return { kind: 'span', span: { start, end } }
}

export function isNotModified(request: Request, etag: string): boolean {
  const header = request.headers.get('if-none-match')
  if (!header) return false
  const bare = (tag: string) => tag.trim().replace(/^W\//, '')
  return header.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag))
}

export interface BodyHeaders {
  etag: string
  contentType: string
  cacheControl: string
  lastModified?: Date
  extra?: HeaderMap
}

function baseHeaders(h: BodyHeaders): HeaderMap {
  return {
    ETag: h.etag,
    'Cache-Control': h.cacheControl,
    'Accept-Ranges': 'bytes',
    'X-Content-Type-Options': 'nosniff',
    ...(h.lastModified ? { 'Last-Modified': h.lastModified.toUTCString() } : {}),
    ...h.extra,
  }
}

export function notModified(h: BodyHeaders): Response {
  const headers = baseHeaders(h)
  delete headers['Accept-Ranges']
  return empty(304, headers)
}

export function unsatisfiable(size: number, h: BodyHeaders): Response {
  return empty(416, { ...baseHeaders(h), 'Content-Range': `bytes */${size}` })
}

/**
 * `body` (a buffer, a file path, or a stream already cut to `span`) of a resource of `size`
 * bytes, as 200 or (with `span`) 206. A stream that will not be sent (HEAD, empty) is closed.
 */
export function bodyResponse(
  request: Request,
  body: Buffer | { path: string } | Readable,
  size: number,
  span: ByteSpan | null,
  h: BodyHeaders,
): Response {
  const start = span?.start ?? 0
  const end = span?.end ?? size - 1
  const headers: HeaderMap = {
    ...baseHeaders(h),
    'Content-Type': h.contentType,
    'Content-Length': String(Math.max(0, end - start + 1)),
  }
  if (span) headers['Content-Range'] = `bytes ${start}-${end}/${size}`
  const status = span ? 206 : 200
  if (request.method === 'HEAD' || size === 0) {
    if (!Buffer.isBuffer(body) && 'destroy' in body) body.destroy()
    return empty(status, headers)
  }
  if (Buffer.isBuffer(body)) {
    return new NodeResponse(span ? body.subarray(start, end + 1) : body, { status, headers })
  }
  const stream =
    'path' in body && typeof body.path === 'string' && !('pipe' in body)
      ? createReadStream(body.path, { start, end })
      : (body as Readable)
  // A Node stream body: piped as it is under Node, iterated by a Fetch caller.
  return new NodeResponse(stream as unknown as ConstructorParameters<typeof Response>[0], {
    status,
    headers,
  })
}
