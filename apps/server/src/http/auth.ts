import type { IncomingHttpHeaders } from 'node:http'
import { DarkroomError, type Caller } from '@darkroom/core'

/**
 * Maps a request's credentials to a caller: `null` when the request carries none, a
 * `DarkroomError('UNAUTHORIZED')` when they are wrong (unknown or revoked key). The server
 * uses one for tRPC, tus and the image routes: `apiKeyAuthenticator` from `@darkroom/trpc` by
 * default, or the embedding app's own (a session, a JWT). Same shape as tRPC's `Authenticate`.
 */
export type Authenticate = (req: { headers: Headers }) => Promise<Caller | null>

/** Who uploads without credentials when guest uploads are on. */
export const GUEST_CALLER: Caller = Object.freeze({
  ownerId: 'guest',
  scopes: Object.freeze(['photos.write']),
})

export function toHeaders(headers: IncomingHttpHeaders): Headers {
  const out = new Headers()
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    if (Array.isArray(value)) for (const v of value) out.append(name, v)
    else out.set(name, value)
  }
  return out
}

export function requireCaller(caller: Caller | null): Caller {
  if (!caller) {
    throw new DarkroomError(
      'UNAUTHORIZED',
      'An API key is required (Authorization: Bearer sk_...).',
    )
  }
  return caller
}
