import type { Caller, WatermarkConfig } from '@darkroom/core'
import type { Authenticate } from '../auth.js'
import { HttpProblem } from '../errors.js'

/**
 * Who reads a picture (`/image/...`, `/photos/...`): a request with a valid signed URL reads
 * that photo as its owner (read-only), anything else is whoever `authenticate` says (null:
 * anonymous, who sees public photos only). The photo routes then let core decide, so someone
 * else's private photo is a 404 exactly like a missing one.
 *
 * Watermarks: when one is configured, a watermark is only worth something if the unmarked
 * pixels stay with the owner. So the watermarked variants (the names in `watermark.presets`,
 * `watermark` and `watermarkSmall` by default) are the only renditions anyone may read; every
 * other one (`original`, `large`, `medium`, `small`, any `/image` transform, which is always
 * made from an unmarked source) needs the owner: their own credentials or a URL they signed.
 * Anyone else gets 403, decided before the photo is looked at and the same for a photo that
 * is missing, private or public, so the answer tells nothing about the photo.
 */
export async function pictureCaller(options: {
  request: Request
  photoId: string
  /** The stored variant asked for (`original`, `medium`, `watermark` ...); null for a transform. */
  variant: string | null
  /** The engine's watermark (`darkroom.config.watermark`); null: every rendition is open. */
  watermark: WatermarkConfig | null
  signedValid: boolean
  authenticate: Authenticate
  ownerOf: (photoId: string) => Promise<string | null>
}): Promise<Caller | null> {
  if (options.signedValid) {
    const ownerId = await options.ownerOf(options.photoId)
    if (!ownerId) {
      throw new HttpProblem(
        404,
        'NOT_FOUND',
        `Photo ${JSON.stringify(options.photoId)} was not found.`,
      )
    }
    return { ownerId, scopes: ['photos.read'] }
  }
  const caller = await options.authenticate({ headers: options.request.headers })
  const { variant, watermark } = options
  if (!watermark || (variant !== null && Object.hasOwn(watermark.presets, variant))) return caller
  if (caller && (await options.ownerOf(options.photoId)) === caller.ownerId) return caller
  throw ownerOnly(variant, watermark)
}

function ownerOnly(variant: string | null, watermark: WatermarkConfig): HttpProblem {
  const what = variant === null ? 'Transforms are' : `The "${variant}" rendition is`
  const open = Object.keys(watermark.presets)
    .map((name) => `"${name}"`)
    .join(', ')
  return new HttpProblem(
    403,
    'FORBIDDEN',
    `${what} served to the photo's owner only while a watermark is configured (their key or ` +
      `a URL they signed); anyone who may see the photo may read ${open}.`,
  )
}

/** Only GET and HEAD read pictures. */
export function assertReadMethod(request: Request): void {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    throw new HttpProblem(405, 'METHOD_NOT_ALLOWED', 'Use GET or HEAD.', { Allow: 'GET, HEAD' })
  }
}
