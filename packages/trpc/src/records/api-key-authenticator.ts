import { timingSafeEqual } from 'node:crypto'
import { DarkroomError, systemClock, type Clock, type ServerStore } from '@darkroom/core'
import type { Authenticate } from '../context.js'
import { API_KEY_PREFIX, hashApiKey } from './api-keys.js'

export interface ApiKeyAuthenticatorOptions {
  clock?: Clock
  /** `lastUsedAt` is written at most this often per key (a write per request is wasteful). */
  touchIntervalMs?: number
}

/**
 * The default `authenticate`: `Authorization: Bearer sk_...`. The key's sha256 is looked up and
 * compared in constant time. No bearer `sk_` token: null (anonymous, or another authenticator's
 * credentials). An unknown or revoked key: `UNAUTHORIZED`, never a silent downgrade to
 * anonymous.
 *
 * @example
 * createAppRouter(darkroom, { serverStore, authenticate: apiKeyAuthenticator(serverStore) })
 */
export function apiKeyAuthenticator(
  serverStore: ServerStore,
  options: ApiKeyAuthenticatorOptions = {},
): Authenticate {
  const clock = options.clock ?? systemClock
  const touchIntervalMs = options.touchIntervalMs ?? 60_000
  return async ({ headers }) => {
    const token = bearerToken(headers)
    if (token === null || !token.startsWith(API_KEY_PREFIX)) return null
    const hash = hashApiKey(token)
    const key = await serverStore.findApiKeyByHash(hash)
    if (!key || !sameHex(key.hash, hash)) {
      throw new DarkroomError('UNAUTHORIZED', 'The API key is not valid.')
    }
    if (key.revokedAt !== null) {
      throw new DarkroomError('UNAUTHORIZED', `The API key ${key.prefix}... has been revoked.`)
    }
    const now = clock.now()
    if (key.lastUsedAt === null || now.getTime() - key.lastUsedAt.getTime() >= touchIntervalMs) {
      await serverStore.touchApiKey(key.id, now)
    }
    return { ownerId: key.ownerId, scopes: [...key.scopes] }
  }
}

/** The first caller any of them finds; a throw (bad credentials) stops the search. */
export function combineAuthenticators(...authenticators: Authenticate[]): Authenticate {
  return async (req) => {
    for (const authenticate of authenticators) {
      const caller = await authenticate(req)
      if (caller) return caller
    }
    return null
  }
}

/** The token of `Authorization: Bearer <token>`, or null. */
export function bearerToken(headers: Headers): string | null {
  const value = headers.get('authorization')
  const match = value === null ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value)
  return match?.[1] ?? null
}

function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex')
  const right = Buffer.from(b, 'hex')
  return left.length === right.length && timingSafeEqual(left, right)
}
