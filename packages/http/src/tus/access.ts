import { requireScope, type Caller } from '@darkroom/core'
import { GUEST_CALLER, requireCaller, type Authenticate } from '../auth.js'
import { UploadRateLimiter } from '../rate-limit.js'

/**
 * Who sends a tus request, and whether they may: authenticated like tRPC (API key, or the
 * app's own sign-in; an anonymous request is the guest when guest uploads are on, else 401);
 * creating, writing and terminating uploads need `photos.write` (a read-only key may only
 * HEAD: 403); each POST (a new upload) takes a token from the caller's bucket (429).
 */

export interface TusAccess {
  authenticate: Authenticate
  guestUploads: boolean
  uploadLimiter?: UploadRateLimiter | undefined
  /** The client's address (the handler knows it from the socket, or from `fetch`'s `info`). */
  ipOf?: ((request: Request) => string | undefined) | undefined
}

export async function authorize(request: Request, access: TusAccess): Promise<Caller> {
  const found = await access.authenticate({ headers: request.headers })
  const caller = !found && access.guestUploads ? GUEST_CALLER : requireCaller(found)
  if (request.method !== 'HEAD') requireScope(caller, 'photos.write')
  if (request.method === 'POST' && access.uploadLimiter) {
    // Guests share one owner: their bucket is their address.
    const ip = access.ipOf?.(request)
    access.uploadLimiter.take(UploadRateLimiter.bucketOf(caller, caller === GUEST_CALLER, ip))
  }
  return caller
}
