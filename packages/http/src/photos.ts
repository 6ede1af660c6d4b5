import { systemClock, type Clock, type Darkroom } from '@darkroom/core'
import type { Logger } from './logger.js'
import type { Authenticate } from './auth.js'
import { HttpProblem } from './errors.js'
import {
  bodyResponse,
  isNotModified,
  notModified,
  parseRange,
  unsatisfiable,
  type BodyHeaders,
} from './internal/body-response.js'
import { assertReadMethod, pictureCaller } from './internal/picture-access.js'
import { errorResponse } from './internal/responses.js'
import { checkSignature } from './signed-urls.js'

/**
 * `GET /photos/{id}/{variant}.{ext}`: the stored renditions, exactly the URLs core puts in
 * `photo.variants`. Variants are immutable (`max-age=31536000, immutable`; `private` when the
 * request was authenticated or signed, `public` when the photo is public and asked for
 * anonymously). Access as for `/image`.
 *
 * - `ext` must name the rendition's stored format (`original.jpg` or `.jpeg` for a JPEG):
 *   `original.png` is a JSON 404 saying `original is image/jpeg: use .jpg`, never the JPEG's
 *   bytes under a PNG name.
 * - The original counts a download when the answer carries the whole file: a 200, or a 206
 *   from byte 0 to the end (`bytes=0-`). Never a HEAD, a 304, a 416, a partial range (even
 *   `bytes=0-99`) or a variant (core's rule, `openBlob`).
 */

export interface PhotoRouteOptions {
  darkroom: Darkroom
  authenticate: Authenticate
  signingSecret: string
  ownerOf: (photoId: string) => Promise<string | null>
  logger: Logger
  clock?: Clock
}

const PATH = /^\/photos\/([A-Za-z0-9_-]{1,64})\/([A-Za-z0-9_-]{1,40})\.([a-z0-9]{1,5})$/

export function createPhotoRoute(options: PhotoRouteOptions) {
  const { darkroom, logger } = options
  const clock = options.clock ?? systemClock

  /** `path`: the request's path under the handler's base path; `url`: its whole URL. */
  return async function photoRoute(request: Request, path: string, url: URL): Promise<Response> {
    try {
      // An unknown URL is a 404 whatever the method; a known one is read with GET or HEAD.
      const match = PATH.exec(path)
      if (!match) throw new HttpProblem(404, 'NOT_FOUND', 'No such photo URL.')
      assertReadMethod(request)
      const [, id, variant, extension] = match as unknown as [string, string, string, string]
      const now = clock.now().getTime()
      const signed = checkSignature(options.signingSecret, path, url.searchParams, {}, now)

      const caller = await pictureCaller({
        request,
        photoId: id,
        variant,
        watermark: darkroom.config.watermark,
        signedValid: signed === 'valid',
        authenticate: options.authenticate,
        ownerOf: options.ownerOf,
      })
      const isOriginal = variant === 'original'
      const scope = caller ? 'private' : 'public'
      const cacheControl = isOriginal
        ? `${scope}, max-age=3600`
        : `${scope}, max-age=31536000, immutable`

      // A conditional or ranged request needs the validator and size before the body.
      let span: { start: number; end: number } | null = null
      const conditional = request.headers.has('if-none-match') || request.headers.has('range')
      if (conditional || request.method === 'HEAD') {
        const probe = await darkroom.photos.openBlob(caller, {
          id,
          variant,
          extension,
          range: { start: 0, end: 0 },
          countDownload: false,
        })
        probe.stream.destroy()
        const headers = headersOf(probe, cacheControl)
        if (isNotModified(request, probe.etag)) return notModified(headers)
        const range = parseRange(request, probe.size, probe.etag)
        if (range.kind === 'unsatisfiable') return unsatisfiable(probe.size, headers)
        if (range.kind === 'span') span = range.span
        if (request.method === 'HEAD') {
          return bodyResponse(request, Buffer.alloc(0), probe.size, span, headers)
        }
      }
      const opened = await darkroom.photos.openBlob(caller, {
        id,
        variant,
        extension,
        ...(span ? { range: { start: span.start, end: span.end } } : {}),
      })
      const size = opened.size
      if (span && span.end >= size) span = { start: span.start, end: size - 1 }
      return bodyResponse(request, opened.stream, size, span, headersOf(opened, cacheControl))
    } catch (error) {
      return errorResponse(error, logger)
    }
  }
}

function headersOf(
  blob: { etag: string; mimeType: string; lastModified: Date },
  cacheControl: string,
): BodyHeaders {
  return {
    etag: blob.etag,
    contentType: blob.mimeType,
    cacheControl,
    lastModified: blob.lastModified,
  }
}
