import { createHmac, timingSafeEqual } from 'node:crypto'
import { HttpProblem } from './errors.js'

/**
 * Image URLs and their signatures. One canonical form of the query (known keys only, sorted,
 * values normalised) is both the signature input (with `exp`) and the transform cache key
 * (without `exp`): two URLs that ask for the same picture share one cache entry. How far a
 * query is normalised depends on who asks: a signed URL gets exactly what it names; the photo's
 * owner gets sizes and quality snapped to steps (`snapImageParams`); anyone else gets sizes
 * snapped up to a short ladder and no `q` (`publicImageParams`), so an anonymous client can
 * neither fill the cache with every size from 1 to 4096 nor pick the costly encodings.
 *
 * A signature is `sig` = hex HMAC-SHA256(secret, `<path>?<canonical query with exp>`), where
 * `exp` is a unix time in seconds. It grants reading that one rendition until `exp`, private
 * photos included, and allows exact (unsnapped) sizes.
 *
 * A ladder signature (`photos.signUrls`, for `<img srcset>`) signs a set of widths instead of
 * one: `sig` = HMAC over `<path>?exp=<exp>&l=<w1>.<w2>...`, and each URL of the srcset adds its
 * own `w`, which is outside the signature and must be one of `l`. So one signature serves every
 * rung; the path carries the photo and the format (`auto` or an extension), `l` the ladder and
 * `exp` the expiry, and changing any of them breaks it. The input of a ladder signature always
 * holds `l=`, which an exact one's never does: neither can stand for the other.
 */

export interface ImageParams {
  w?: number
  h?: number
  crop?: boolean
  q?: number
}

export const MAX_EDGE = 4096
const SIZE_STEPS = [16, 50]

/** The smallest step (a multiple of 16 or of 50) at or above `n`, at most `MAX_EDGE`. */
export function snapEdge(n: number): number {
  let best = MAX_EDGE
  for (const step of SIZE_STEPS) best = Math.min(best, Math.ceil(n / step) * step)
  return Math.max(1, Math.min(best, MAX_EDGE))
}

export function snapQuality(q: number): number {
  return Math.min(100, Math.max(5, Math.round(q / 5) * 5))
}

/** Reads `w`, `h`, `crop`, `q` from a query; a malformed value is a 400. Others are ignored. */
export function parseImageParams(query: URLSearchParams): ImageParams {
  const params: ImageParams = {}
  for (const key of ['w', 'h', 'q'] as const) {
    const raw = query.get(key)
    if (raw === null || raw === '') continue
    if (!/^\d{1,5}$/.test(raw)) throw badParam(key, 'a whole number')
    const value = Number(raw)
    const max = key === 'q' ? 100 : MAX_EDGE
    if (value < 1 || value > max) throw badParam(key, `from 1 to ${max}`)
    params[key] = value
  }
  const crop = query.get('crop')
  if (crop !== null && crop !== '') {
    if (!['1', '0', 'true', 'false'].includes(crop)) throw badParam('crop', 'true or false')
    if (crop === '1' || crop === 'true') params.crop = true
  }
  return params
}

/** The owner's rule: sizes and quality snapped to steps; a crop only where it crops. */
export function snapImageParams(params: ImageParams): ImageParams {
  const out: ImageParams = { ...params }
  if (out.w !== undefined) out.w = snapEdge(out.w)
  if (out.h !== undefined) out.h = snapEdge(out.h)
  if (out.q !== undefined) out.q = snapQuality(out.q)
  return withoutIdleCrop(out)
}

/**
 * The sizes anyone may ask for without a signature (widths and heights alike): common layout
 * and screen widths, the seed image host's examples (300, 400, 600, 800) among them.
 */
export const DEFAULT_PUBLIC_SIZES: readonly number[] = [
  100, 160, 200, 300, 320, 400, 480, 600, 640, 800, 960, 1024, 1280, 1600, 1920, 2048, 2560,
]

/** The smallest size of `ladder` at or above `n`, else its largest. */
export function snapToLadder(n: number, ladder: readonly number[]): number {
  let best = 0
  let top = 0
  for (const size of ladder) {
    if (size >= n && (best === 0 || size < best)) best = size
    top = Math.max(top, size)
  }
  return best || top
}

/**
 * The rule for a request that is neither signed nor its photo's owner's: `w` and `h` snap up to
 * `ladder` (above its top, to its top), `crop` stays (it only matters with both sides), `q` is
 * refused (a 400 naming it): with the four formats that makes a fixed, small set of
 * renditions per photo, each within the engine's caps. Anything else needs a signed URL.
 */
export function publicImageParams(params: ImageParams, ladder: readonly number[]): ImageParams {
  if (params.q !== undefined) {
    throw new HttpProblem(
      400,
      'BAD_REQUEST',
      'The "q" parameter needs a signed URL (or the photo\'s owner): without one, /image serves ' +
        `the default quality, at sizes snapped up to ${ladder.join(', ')} px. Sign the URL for ` +
        'another quality or an exact size.',
    )
  }
  const out: ImageParams = { ...params }
  if (out.w !== undefined) out.w = snapToLadder(out.w, ladder)
  if (out.h !== undefined) out.h = snapToLadder(out.h, ladder)
  return withoutIdleCrop(out)
}

/** `crop` changes nothing unless both sides are given: one cache key, not two. */
function withoutIdleCrop(params: ImageParams): ImageParams {
  if (params.crop && (params.w === undefined || params.h === undefined)) delete params.crop
  return params
}

/** `crop=1&exp=...&h=...&q=...&w=...`: sorted, only what is set. */
export function canonicalQuery(params: ImageParams & { exp?: number }): string {
  const entries: [string, string][] = []
  if (params.crop) entries.push(['crop', '1'])
  if (params.exp !== undefined) entries.push(['exp', String(params.exp)])
  if (params.h !== undefined) entries.push(['h', String(params.h)])
  if (params.q !== undefined) entries.push(['q', String(params.q)])
  if (params.w !== undefined) entries.push(['w', String(params.w)])
  return entries.map(([k, v]) => `${k}=${v}`).join('&')
}

export function signature(secret: string, path: string, query: string): string {
  return createHmac('sha256', secret).update(`${path}?${query}`).digest('hex')
}

/**
 * A signed URL path for `path` (`/image/<id>.webp`, `/photos/<id>/original.jpg`) valid until
 * `expiresAt`.
 *
 * @example
 * signUrl(secret, `/image/${id}.webp`, { w: 300, h: 200, crop: true }, new Date(Date.now() + 3600_000))
 */
export function signUrl(
  secret: string,
  path: string,
  params: ImageParams,
  expiresAt: Date,
): string {
  const exp = Math.floor(expiresAt.getTime() / 1000)
  const query = canonicalQuery({ ...params, exp })
  return `${path}?${query}&sig=${signature(secret, path, query)}`
}

export type SignatureCheck = 'absent' | 'valid'

/**
 * Checks `sig`/`exp` of a request: `absent` when there is no `sig`; `valid`; or a 403 for a
 * tampered, malformed or expired one.
 */
export function checkSignature(
  secret: string,
  path: string,
  query: URLSearchParams,
  params: ImageParams,
  nowMs: number,
): SignatureCheck {
  if (query.get('sig') === null) return 'absent'
  verifySignature(secret, path, query, nowMs, (exp) => canonicalQuery({ ...params, exp }))
  return 'valid'
}

/**
 * Checks `sig` against the HMAC of `path` and `signed(exp)` and that `exp` has not passed, or
 * throws the 403 saying which: the one check behind exact and ladder signatures.
 */
function verifySignature(
  secret: string,
  path: string,
  query: URLSearchParams,
  nowMs: number,
  signed: (exp: number) => string | null,
): void {
  const sig = query.get('sig') ?? ''
  const expText = query.get('exp') ?? ''
  const exp = Number(expText)
  const text = /^\d{1,12}$/.test(expText) ? signed(exp) : null
  if (!/^[0-9a-f]{64}$/.test(sig) || text === null) {
    throw new HttpProblem(403, 'FORBIDDEN', 'The URL signature is malformed.')
  }
  const expected = Buffer.from(signature(secret, path, text), 'hex')
  if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) {
    throw new HttpProblem(403, 'FORBIDDEN', 'The URL signature does not match.')
  }
  if (exp * 1000 < nowMs) throw new HttpProblem(403, 'FORBIDDEN', 'The signed URL has expired.')
}

/**
 * The widths `photos.signUrls` signs by default: Next.js's default `imageSizes` and
 * `deviceSizes`, so a `next/image` loader's every width is a rung.
 */
export const DEFAULT_SIGNED_WIDTHS: readonly number[] = [
  16, 32, 48, 64, 96, 128, 256, 384, 640, 750, 828, 1080, 1200, 1920, 2048, 3840,
]

/** The most rungs one ladder signature may carry (each adds a rendition to the cache). */
export const MAX_LADDER_RUNGS = 32

/** A srcset over one ladder signature. */
export interface SignedSrcset {
  /** The largest rung's URL, for `src`. */
  src: string
  /** `<url> <w>w, ...`, smallest first. */
  srcset: string
  widths: number[]
  expiresAt: Date
}

/**
 * Signs `path` (`/image/<id>.<ext>`) for every width of `widths` with one signature valid
 * until `expiresAt` (rounded down to a second); `prefix` goes before each URL (a base path or
 * an origin) and is not signed.
 *
 * @example
 * signSrcset(secret, `/image/${id}.auto`, [640, 1080, 1920], new Date(Date.now() + 3600_000))
 * // { src: '/image/<id>.auto?w=1920&l=640.1080.1920&exp=...&sig=...', srcset: '... 640w, ...' }
 */
export function signSrcset(
  secret: string,
  path: string,
  widths: readonly number[],
  expiresAt: Date,
  prefix = '',
): SignedSrcset {
  const ladder = [...new Set(widths)].sort((a, b) => a - b)
  if (ladder.length === 0 || ladder.length > MAX_LADDER_RUNGS || !ladder.every(isEdgeSize)) {
    throw new TypeError(
      `signSrcset: widths must be 1 to ${MAX_LADDER_RUNGS} whole numbers from 1 to ${MAX_EDGE}`,
    )
  }
  const exp = Math.floor(expiresAt.getTime() / 1000)
  const l = ladder.join('.')
  const sig = signature(secret, path, ladderQuery(exp, l))
  const urlOf = (w: number) => `${prefix}${path}?w=${w}&l=${l}&exp=${exp}&sig=${sig}`
  return {
    src: urlOf(ladder[ladder.length - 1]!),
    srcset: ladder.map((w) => `${urlOf(w)} ${w}w`).join(', '),
    widths: ladder,
    expiresAt: new Date(exp * 1000),
  }
}

/** What a ladder signature covers: `exp` and `l` (sorted keys, as `canonicalQuery`). */
function ladderQuery(exp: number, ladder: string): string {
  return `exp=${exp}&l=${ladder}`
}

/**
 * Checks a request that carries a ladder (`l`): its `sig` must cover the path, `l` and `exp`;
 * `w` must be one of `l`'s widths and nothing else may be asked for (`h`, `crop` and `q` are
 * not signed). `absent` when there is no `sig`; `valid`; or a 403 otherwise.
 */
export function checkLadderSignature(
  secret: string,
  path: string,
  query: URLSearchParams,
  params: ImageParams,
  nowMs: number,
): SignatureCheck {
  if (query.get('sig') === null) return 'absent'
  const l = query.get('l') ?? ''
  const ladder = parseLadder(l)
  verifySignature(secret, path, query, nowMs, (exp) => (ladder ? ladderQuery(exp, l) : null))
  if (!ladder) throw new HttpProblem(403, 'FORBIDDEN', 'The URL signature is malformed.')
  if (params.w === undefined || !ladder.includes(params.w) || hasUnsigned(params)) {
    throw new HttpProblem(
      403,
      'FORBIDDEN',
      `This URL is signed for the widths ${ladder.join(', ')} only: "w" must be one of them, ` +
        'and "h", "crop" and "q" are not signed.',
    )
  }
  return 'valid'
}

/** `640.750.828` → [640, 750, 828]: strictly ascending sizes, no leading zeros; else null. */
function parseLadder(text: string): number[] | null {
  if (!/^[1-9]\d{0,3}(\.[1-9]\d{0,3})*$/.test(text)) return null
  const ladder = text.split('.').map(Number)
  if (ladder.length > MAX_LADDER_RUNGS || !ladder.every(isEdgeSize)) return null
  return ladder.every((w, i) => i === 0 || w > ladder[i - 1]!) ? ladder : null
}

function hasUnsigned(params: ImageParams): boolean {
  return params.h !== undefined || params.crop === true || params.q !== undefined
}

function isEdgeSize(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_EDGE
}

function badParam(key: string, expected: string): HttpProblem {
  return new HttpProblem(400, 'BAD_REQUEST', `The "${key}" parameter must be ${expected}.`)
}
