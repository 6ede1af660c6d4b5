import { DarkroomError, type Caller } from '@darkroom/core'
import type { UploadRateLimit } from './context.js'

/** Who may upload: guest uploads (on or off) and the rate limit run before each upload request. */
export interface UploadPolicy {
  /** Set: an anonymous request uploads as this owner, with `photos.write` only. */
  guestUploads: { ownerId: string } | null
  /** Throws `RATE_LIMITED` to refuse a request. */
  rateLimit?: UploadRateLimit | null
}

/**
 * The caller an upload request uploads as: the authenticated caller, else the guest owner when
 * guest uploads are on (an `anonymous` caller, told nothing of the owner's photos), else
 * `UNAUTHORIZED`; then the rate limit. Run it before the body is
 * read, so a refused request costs no parsing. `photos.upload` admits through it, and so does
 * any other upload path over the same policy (the HTTP layer's REST twin), so they cannot differ.
 *
 * @example
 * const caller = await resolveUploadCaller(policy, { caller: await authenticate(req), ip })
 */
export async function resolveUploadCaller(
  policy: UploadPolicy,
  request: { caller: Caller | null; headers?: Headers | undefined; ip?: string | undefined },
): Promise<Caller> {
  const guest = policy.guestUploads
  const caller: Caller | null =
    request.caller ??
    (guest ? { ownerId: guest.ownerId, scopes: ['photos.write'], anonymous: true } : null)
  if (!caller) throw new DarkroomError('UNAUTHORIZED', 'Authentication is required.')
  if (policy.rateLimit) {
    await policy.rateLimit({
      caller,
      guest: !request.caller,
      headers: request.headers,
      ip: request.ip,
    })
  }
  return caller
}
