import { createReadStream } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'

/**
 * Conditional and ranged answers shared by the image routes: `If-None-Match` → 304 (weak
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
export function parseRange(req: IncomingMessage, size: number, etag: string): RangeRequest {
  const header = req.headers.range
  if (!header || (req.method !== 'GET' && req.method !== 'HEAD')) return { kind: 'none' }
  const ifRange = req.headers['if-range']
  if (ifRange !== undefined && ifRange !== etag) return { kind: 'none' }
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

export function isNotModified(req: IncomingMessage, etag: string): boolean {
  const header = req.headers['if-none-match']
  if (!header) return false
  const bare = (tag: string) => tag.trim().replace(/^W\//, '')
  return header.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag))
}

export interface BodyHeaders {
  etag: string
  contentType: string
  cacheControl: string
  lastModified?: Date
  extra?: Record<string, string>
}

function baseHeaders(h: BodyHeaders): Record<string, string> {
  return {
    ETag: h.etag,
    'Cache-Control': h.cacheControl,
    'Accept-Ranges': 'bytes',
    'X-Content-Type-Options': 'nosniff',
    ...(h.lastModified ? { 'Last-Modified': h.lastModified.toUTCString() } : {}),
    ...h.extra,
  }
}

export function sendNotModified(res: ServerResponse, h: BodyHeaders): void {
  const headers = baseHeaders(h)
  delete headers['Accept-Ranges']
  res.writeHead(304, headers)
  res.end()
}

export function sendUnsatisfiable(res: ServerResponse, size: number, h: BodyHeaders): void {
  res.writeHead(416, { ...baseHeaders(h), 'Content-Range': `bytes */${size}` })
  res.end()
}

/**
 * Sends `body` (a buffer, a file path, or a stream already cut to `span`) of a resource of
 * `size` bytes, as 200 or (with `span`) 206.
 */
export async function sendBody(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer | { path: string } | Readable,
  size: number,
  span: ByteSpan | null,
  h: BodyHeaders,
): Promise<void> {
  const headers: Record<string, string | number> = {
    ...baseHeaders(h),
    'Content-Type': h.contentType,
  }
  const start = span?.start ?? 0
  const end = span?.end ?? size - 1
  headers['Content-Length'] = Math.max(0, end - start + 1)
  if (span) headers['Content-Range'] = `bytes ${start}-${end}/${size}`
  res.writeHead(span ? 206 : 200, headers)
  if (req.method === 'HEAD' || size === 0) {
    if (!(body instanceof Buffer) && 'destroy' in body) body.destroy()
    res.end()
    return
  }
  if (body instanceof Buffer) {
    res.end(body.subarray(start, end + 1))
    return
  }
  const stream =
    'path' in body && typeof body.path === 'string' && !('pipe' in body)
      ? createReadStream(body.path, { start, end })
      : (body as Readable)
  // `pipe`, not `stream.pipeline`: pipeline makes an AbortController, and an AbortError with
  // its stack on every finish, a cost per request that showed in the image benchmark. A client
  // that goes away needs no answer; the stream is closed either way.
  await new Promise<void>((resolve) => {
    const done = () => {
      stream.destroy()
      resolve()
    }
    stream.once('error', () => {
      res.destroy()
      done()
    })
    res.once('close', done)
    stream.pipe(res)
  })
}
