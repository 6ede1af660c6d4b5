export { toHeaders } from '@darkroom/trpc'
import { DarkroomError, type Caller } from '@darkroom/core'

/**
 * The server uses one `Authenticate` (tRPC's) for tRPC, tus and the image routes:
 * `apiKeyAuthenticator` by default, or the embedding app's own (a session, a JWT).
 */
export type { Authenticate } from '@darkroom/trpc'

/**
 * Who uploads without credentials when guest uploads are on: anonymous, so that no guest learns
 * of another's photos through the owner they share.
 */
export const GUEST_CALLER: Caller = Object.freeze({
  ownerId: 'guest',
  scopes: Object.freeze(['photos.write']),
  anonymous: true,
})

export function requireCaller(caller: Caller | null): Caller {
  if (!caller) {
    throw new DarkroomError(
      'UNAUTHORIZED',
      'An API key is required (Authorization: Bearer sk_...).',
    )
  }
  return caller
}
