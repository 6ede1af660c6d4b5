import type { Caller } from '@darkroom/core'
import type { Authenticate } from '../auth.js'
import { HttpProblem } from '../errors.js'

/**
 * Who reads a picture (`/image/...`, `/photos/...`): a request with a valid signed URL reads
 * that photo as its owner (read-only), anything else is whoever `authenticate` says (null:
 * anonymous, who sees public photos only). The photo routes then let core decide, so someone
 * else's private photo is a 404 exactly like a missing one.
 */
export async function pictureCaller(options: {
  request: Request
  photoId: string
  signedValid: boolean
  authenticate: Authenticate
  ownerOf: (photoId: string) => Promise<string | null>
}): Promise<Caller | null> {
  if (!options.signedValid) return options.authenticate({ headers: options.request.headers })
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

/** Only GET and HEAD read pictures. */
export function assertReadMethod(request: Request): void {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    throw new HttpProblem(405, 'METHOD_NOT_ALLOWED', 'Use GET or HEAD.', { Allow: 'GET, HEAD' })
  }
}
