import { createHash } from 'node:crypto'
import { systemClock, type Clock, type Darkroom, type TransformFormat } from '@darkroom/core'
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
import type { CacheEntry, DiskCache } from './internal/disk-cache.js'
import { assertReadMethod, pictureCaller } from './internal/picture-access.js'
import { errorResponse } from './internal/responses.js'
import type { TransformQueue } from './internal/transform-queue.js'
import {
  canonicalQuery,
  checkLadderSignature,
  checkSignature,
  DEFAULT_PUBLIC_SIZES,
  parseImageParams,
  publicImageParams,
  snapImageParams,
  type ImageParams,
} from './signed-urls.js'

/**
 * `GET /image/{id}.{ext}?w=&h=&crop=&q=`: on-the-fly resize, crop and convert.
 *
 * - `ext` is jpg, jpeg, png, webp, avif, or `auto`: the `Accept` header reduced to avif, webp
 *   or jpeg (and `Vary: Accept`), so the cache holds at most three formats per query.
 * - Who may read: the owner (bearer key), anyone for a public photo, or anyone holding a signed
 *   URL (see signed-urls.ts): one rendition's, or a ladder's (`photos.signUrls`: any `w` of the
 *   signed widths). Others get 404, as for a missing photo.
 * - What they may ask for: a signed URL, exactly what it names; the owner, sizes and quality
 *   snapped to steps; anyone else (anonymous, or another owner's key on a public photo), sizes
 *   snapped up to a short ladder (`publicSizes`) and no `q`. Every render is bounded by the
 *   engine (edge 4096, AVIF 2560, low encoder effort) and runs in its own slots (`queue`,
 *   apart from uploads'); a render whose clients have all gone is never started.
 * - The canonical query (normalised as above) is the cache key; the ETag is derived from the
 *   original's checksum and that key, so a revalidation is a 304 without any image work.
 * - A transform never counts a download, whatever its range: it is a rendition made on the
 *   fly, not the stored original (`/photos/{id}/original.{ext}` counts those).
 * - The access check runs on every request, cache hits included (a photo made private or
 *   deleted stops being served at once; its cached renditions are evicted on delete). It is
 *   core's transform plan: one metadata read, no file opened, so a hit stays cheap.
 */

export interface ImageRouteOptions {
  darkroom: Darkroom
  authenticate: Authenticate
  signingSecret: string
  cache: DiskCache
  queue: TransformQueue
  /** The owner of a photo (for signed URLs), or null. */
  ownerOf: (photoId: string) => Promise<string | null>
  /** The sizes of unsigned requests by others than the owner (`DEFAULT_PUBLIC_SIZES`). */
  publicSizes?: readonly number[]
  logger: Logger
  clock?: Clock
}

const FORMAT_BY_EXT: Record<string, TransformFormat | 'auto'> = {
  jpg: 'jpeg',
  jpeg: 'jpeg',
  png: 'png',
  webp: 'webp',
  avif: 'avif',
  auto: 'auto',
}
const EXT_BY_FORMAT: Record<TransformFormat, string> = {
  jpeg: 'jpg',
  png: 'png',
  webp: 'webp',
  avif: 'avif',
}
const MIME_BY_FORMAT: Record<TransformFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
}
const PATH = /^\/image\/([A-Za-z0-9_-]{1,64})\.([a-z]{3,4})$/

/** Reduces `Accept` to the one format that goes into the cache key. */
export function negotiateFormat(accept: string | undefined): TransformFormat {
  const types = (accept ?? '').toLowerCase()
  if (/\bimage\/avif\b/.test(types)) return 'avif'
  if (/\bimage\/webp\b/.test(types)) return 'webp'
  return 'jpeg'
}

export function createImageRoute(options: ImageRouteOptions) {
  const { darkroom, logger } = options
  const clock = options.clock ?? systemClock
  const publicSizes = options.publicSizes ?? DEFAULT_PUBLIC_SIZES

  /** `path`: the request's path under the handler's base path; `url`: its whole URL. */
  return async function imageRoute(request: Request, path: string, url: URL): Promise<Response> {
    try {
      // An unknown URL is a 404 whatever the method; a known one is read with GET or HEAD.
      const match = PATH.exec(path)
      const requested = match ? FORMAT_BY_EXT[match[2]!] : undefined
      if (!match || !requested) throw new HttpProblem(404, 'NOT_FOUND', 'No such image URL.')
      assertReadMethod(request)
      const id = match[1]!
      const exact = parseImageParams(url.searchParams)
      const now = clock.now().getTime()
      // A ladder (`l`, from `photos.signUrls`) signs a set of widths; otherwise one rendition.
      const check = url.searchParams.has('l') ? checkLadderSignature : checkSignature
      const signed = check(options.signingSecret, path, url.searchParams, exact, now)

      const caller = await pictureCaller({
        request,
        photoId: id,
        variant: null,
        watermark: darkroom.config.watermark,
        signedValid: signed === 'valid',
        authenticate: options.authenticate,
        ownerOf: options.ownerOf,
      })
      const secondsLeft = Number(url.searchParams.get('exp')) - Math.floor(now / 1000)
      const cacheControl =
        signed === 'valid'
          ? `private, max-age=${Math.max(0, Math.min(86_400, secondsLeft))}`
          : caller
            ? 'private, max-age=3600'
            : 'public, max-age=86400'

      const format =
        requested === 'auto'
          ? negotiateFormat(request.headers.get('accept') ?? undefined)
          : requested
      // A signed URL gets what it names; the owner, steps; anyone else, the public ladder.
      const params: ImageParams =
        signed === 'valid'
          ? exact
          : caller && (await options.ownerOf(id)) === caller.ownerId
            ? snapImageParams(exact)
            : publicImageParams(exact, publicSizes)
      // The access check and the original's checksum (for the ETag): metadata only, no file.
      const plan = await darkroom.photos.transform(caller, {
        id,
        format,
        ...(params.w !== undefined ? { width: params.w } : {}),
        ...(params.h !== undefined ? { height: params.h } : {}),
        ...(params.crop ? { crop: true } : {}),
        ...(params.q !== undefined ? { quality: params.q } : {}),
      })

      const ext = EXT_BY_FORMAT[format]
      const key = `${id}.${ext}?${canonicalQuery(params)}`
      const hash = createHash('sha256').update(key).digest('hex').slice(0, 40)
      const etag = `"${createHash('sha256').update(`${plan.etag}|${key}`).digest('hex').slice(0, 32)}"`
      const headers: BodyHeaders = {
        etag,
        contentType: MIME_BY_FORMAT[format],
        cacheControl,
        lastModified: plan.lastModified,
        extra: requested === 'auto' ? { Vary: 'Accept' } : {},
      }
      if (isNotModified(request, etag)) return notModified(headers)

      const cached = await options.cache.get(id, hash, ext)
      if (cached) return cachedResponse(request, cached, etag, headers)

      const made = await options.queue.run(
        hash,
        async (signal) => {
          // A miss that raced the end of another request's render finds its entry now.
          const entry = await options.cache.get(id, hash, ext)
          if (entry) return { entry }
          const out = await plan.render({ signal })
          // Not awaited: the cache finds the entry while its file is written.
          void options.cache.put(id, hash, ext, out.data).catch((error: unknown) => {
            logger.warn({ err: error, photoId: id }, 'could not write the image cache')
          })
          return { result: out }
        },
        request.signal,
      )
      if (made.entry) return cachedResponse(request, made.entry, etag, headers)
      const { result } = made
      const range = parseRange(request, result.data.byteLength, etag)
      headers.extra = {
        ...headers.extra,
        'X-Cache': 'MISS',
        'X-Image-Source': result.source,
      }
      if (range.kind === 'unsatisfiable') return unsatisfiable(result.data.byteLength, headers)
      const span = range.kind === 'span' ? range.span : null
      return bodyResponse(request, result.data, result.data.byteLength, span, headers)
    } catch (error) {
      // The client has gone (its render was abandoned): nobody reads an answer, nothing to log.
      if (request.signal.aborted) return new Response(null, { status: 499 })
      return errorResponse(error, logger)
    }
  }
}

function cachedResponse(
  request: Request,
  cached: CacheEntry,
  etag: string,
  headers: BodyHeaders,
): Response {
  const range = parseRange(request, cached.size, etag)
  headers.extra = { ...headers.extra, 'X-Cache': 'HIT' }
  if (range.kind === 'unsatisfiable') return unsatisfiable(cached.size, headers)
  const span = range.kind === 'span' ? range.span : null
  const body = 'data' in cached ? cached.data : { path: cached.path }
  return bodyResponse(request, body, cached.size, span, headers)
}
