import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, resolve, sep } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { HttpProblem } from '@darkroom/http'
import type { Logger } from '../logger.js'
import { sendError } from './send-error.js'
import {
  acceptedEncodings,
  CompressedFiles,
  type CompressedFilesOptions,
} from './compressed-files.js'

/**
 * The built web gallery (apps/example, `vite build`) at `/`, mounted last so every API prefix
 * keeps priority. A file under the folder is served with its content type; Vite's hashed
 * `/assets/*` are immutable, everything else revalidates (`no-cache` with an ETag); they go to
 * any `Accept`, and only to GET and HEAD (405 otherwise). A path that is not a file is the
 * single-page app's only when a browser loads it as a page (see `isAppPage`): it gets
 * `index.html`. Any other unknown path, whatever the method, is a JSON 404, so an API client
 * never reads the app's HTML as an answer. A path is decoded once, must stay inside the folder
 * (no `..`, no NUL, no backslash) and never follows into a dot-file. When the gallery is not
 * built, `/` (and a page load) answers 404 with how to build it.
 *
 * Text files (HTML, JS, CSS, JSON, SVG, source maps) go out as brotli or gzip when the request's
 * `Accept-Encoding` takes one, from copies compressed once and kept (see compressed-files.ts),
 * with `Vary: Accept-Encoding` and an ETag per encoding (`W/"<size>-<mtime>-br"`), so a cache
 * or a revalidation never mixes one encoding's bytes with another's validator.
 */

export interface StaticRouteOptions {
  /** The folder holding `index.html` and `assets/`; null when there is none. */
  root: string | null
  logger: Logger
  /** Origins besides the page's own that images may come from (a CDN in `PUBLIC_BASE_URL`). */
  mediaOrigins?: readonly string[]
  /** Sizes of what gets compressed and how much is kept (defaults in compressed-files.ts). */
  compression?: CompressedFilesOptions
}

export const GALLERY_NOT_BUILT =
  'The web gallery is not built: run `npm run build:web -w @darkroom/example` (or set GALLERY_DIR).'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
}

/** Worth compressing: text, whatever the file's size. */
const COMPRESSIBLE = /^(text\/|application\/(json|manifest\+json)|image\/svg\+xml)/

/** Darkroom's own prefixes: never a page of the app, whatever mounts them. */
const API_PREFIXES = ['/trpc', '/api', '/files', '/image', '/photos']

const IMMUTABLE = 'public, max-age=31536000, immutable'
const REVALIDATE = 'no-cache'

export function createStaticRoute(options: StaticRouteOptions) {
  const { logger } = options
  const root = options.root === null ? null : resolve(options.root)
  const compressed = new CompressedFiles(options.compression)
  const media = ["'self'", 'data:', 'blob:', ...(options.mediaOrigins ?? [])].join(' ')
  const csp = [
    "default-src 'self'",
    `img-src ${media}`,
    `media-src ${media}`,
    // React sets inline style attributes (placeholders, progress bars).
    "style-src 'self' 'unsafe-inline'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join('; ')

  return async function staticRoute(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const relative = safeRelativePath(req.url ?? '/')
      let file = root !== null && relative !== '' ? await fileAt(root, relative) : null
      let fallback = false
      if (file || relative === '') {
        // The gallery's own files, `/` included: to any Accept, read with GET or HEAD only.
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          throw new HttpProblem(405, 'METHOD_NOT_ALLOWED', 'Use GET or HEAD.', {
            Allow: 'GET, HEAD',
          })
        }
      } else if (isAppPage(req, relative)) {
        fallback = true
      } else {
        // An API client, a script or a missing asset: JSON it can read, never the app's HTML.
        throw new HttpProblem(404, 'NOT_FOUND', 'Not found.')
      }
      if (!file) {
        file = root === null ? null : await fileAt(root, 'index.html')
        if (!file) throw new HttpProblem(404, 'NOT_FOUND', GALLERY_NOT_BUILT)
      }
      const type = CONTENT_TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream'
      const isHtml = type.startsWith('text/html')
      const varies = COMPRESSIBLE.test(type) && compressed.isCandidate(file)
      const encoded = varies
        ? await compressed.get(file, acceptedEncodings(req.headers['accept-encoding']))
        : null
      const version = `${file.size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}`
      const etag = `W/"${version}${encoded ? `-${encoded.encoding}` : ''}"`
      // The fallback's URL answers JSON to anything but a page load: caches must tell them apart.
      const vary = [
        ...(varies ? ['Accept-Encoding'] : []),
        ...(fallback ? ['Accept', 'Sec-Fetch-Mode'] : []),
      ]
      const headers: Record<string, string> = {
        ETag: etag,
        'Cache-Control': relative.startsWith('assets/') ? IMMUTABLE : REVALIDATE,
        'Last-Modified': new Date(file.mtimeMs).toUTCString(),
        'X-Content-Type-Options': 'nosniff',
        ...(vary.length > 0 ? { Vary: vary.join(', ') } : {}),
        ...(isHtml ? { 'Content-Security-Policy': csp, 'Referrer-Policy': 'no-referrer' } : {}),
      }
      if (isNotModified(req.headers['if-none-match'], etag)) {
        res.writeHead(304, headers)
        res.end()
        return
      }
      if (encoded) {
        res.writeHead(200, {
          ...headers,
          'Content-Type': type,
          'Content-Encoding': encoded.encoding,
          'Content-Length': encoded.data.byteLength,
        })
        res.end(req.method === 'HEAD' ? undefined : encoded.data)
        return
      }
      res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': file.size })
      if (req.method === 'HEAD') {
        res.end()
        return
      }
      await pipeline(createReadStream(file.path), res)
    } catch (error) {
      sendError(res, error, logger)
    }
  }
}

/**
 * Where the single-page app's `index.html` stands in for a missing path: a browser loading a
 * page (GET or HEAD that accepts HTML, or says it navigates), to a path without an extension
 * and outside the API's prefixes. `fetch` and curl (which accept any type, or JSON) get the
 * JSON 404.
 */
function isAppPage(req: IncomingMessage, relative: string): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false
  if (extname(relative) !== '') return false
  const top = `/${relative.split('/', 1)[0]}`
  if (API_PREFIXES.includes(top)) return false
  const accept = String(req.headers.accept ?? '').toLowerCase()
  return req.headers['sec-fetch-mode'] === 'navigate' || accept.includes('text/html')
}

/** Weak comparison, `*` included (RFC 9110). */
function isNotModified(header: string | undefined, etag: string): boolean {
  if (!header) return false
  const bare = (tag: string) => tag.trim().replace(/^W\//, '')
  return header.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag))
}

/**
 * The request path as a relative path inside the folder: decoded once, without the leading
 * slash; `''` for `/`. A path that could leave the folder or name a hidden file is a 404 (or a
 * 400 when it does not decode).
 */
export function safeRelativePath(url: string): string {
  const pathname = (url.split('?')[0] ?? '/').split('#')[0] ?? '/'
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    throw new HttpProblem(400, 'BAD_REQUEST', 'The path is not valid percent-encoding.')
  }
  if (decoded.includes('\0') || decoded.includes('\\')) {
    throw new HttpProblem(404, 'NOT_FOUND', 'Not found.')
  }
  const segments = decoded.split('/').filter((s) => s !== '')
  if (segments.some((s) => s.startsWith('.'))) {
    throw new HttpProblem(404, 'NOT_FOUND', 'Not found.')
  }
  return segments.join('/')
}

async function fileAt(
  root: string,
  relative: string,
): Promise<{ path: string; size: number; mtimeMs: number } | null> {
  const path = resolve(join(root, relative))
  if (path !== root && !path.startsWith(root + sep)) return null
  const info = await stat(path).catch(() => null)
  if (!info?.isFile()) return null
  return { path, size: info.size, mtimeMs: info.mtimeMs }
}
