import {
  DarkroomError,
  systemClock,
  uuidV7Ids,
  type Caller,
  type Clock,
  type ServerStore,
  type SessionRecord,
} from '@darkroom/core'
import type { Authenticate } from '../context.js'
import { randomBase62 } from '../internal/random.js'
import { bearerToken } from './api-key-authenticator.js'
import { hashApiKey, type KeyDeps } from './api-keys.js'

/**
 * Sign-in without a long-lived key in a URL (issue 15 #6) and a picture cookie without the key
 * in it (#12).
 *
 * - A **sign-in code** (`sc_` + 32 base62) is made for one API key (first start, `darkroom keys
 *   code <key id>`), lives 10 minutes, and is exchanged once for a session: a link that leaks
 *   (history, a screenshot, a chat) is worth nothing after use or after 10 minutes.
 * - A **session** (`ds_` + 40 base62) stands for an API key, with the key's scopes, until it
 *   expires (7 days), is revoked (`DELETE /session`) or its key is revoked: it is checked
 *   against the key on every use. Its token is what the HttpOnly picture cookie carries and
 *   what a code exchange hands the page as its bearer for `/trpc` and `/files`.
 *
 * Only sha256 of a code or token is stored (random 190+ bits: no salt or slow hash needed).
 */

export const SIGN_IN_CODE_PREFIX = 'sc_'
export const SESSION_TOKEN_PREFIX = 'ds_'
export const SIGN_IN_CODE_TTL_MS = 10 * 60_000
export const SESSION_TTL_MS = 7 * 86_400_000

export function isSignInCodeShaped(value: string): boolean {
  return /^sc_[0-9A-Za-z]{32}$/.test(value)
}

export function isSessionTokenShaped(value: string): boolean {
  return /^ds_[0-9A-Za-z]{40}$/.test(value)
}

export interface CreatedSignInCode {
  /** The code itself; not stored. */
  code: string
  ownerId: string
  expiresAt: Date
}

/**
 * A one-time code that signs in as the API key `keyId` (which must exist and be unrevoked).
 * No caller check: for the server's first start and CLI. Throws `NOT_FOUND`.
 *
 * @example
 * const { code } = await createSignInCode(store.server, { keyId })
 * console.log(`${url}/#code=${code}`)
 */
export async function createSignInCode(
  serverStore: ServerStore,
  input: { keyId: string },
  deps: KeyDeps = {},
): Promise<CreatedSignInCode> {
  const key = await serverStore.getApiKey(input.keyId)
  if (!key || key.revokedAt !== null) throw DarkroomError.notFound('API key', input.keyId)
  const code = SIGN_IN_CODE_PREFIX + randomBase62(32)
  const now = (deps.clock ?? systemClock).now()
  const expiresAt = new Date(now.getTime() + SIGN_IN_CODE_TTL_MS)
  await serverStore.insertSignInCode({
    id: (deps.ids ?? uuidV7Ids).newId(),
    hash: hashApiKey(code),
    keyId: key.id,
    ownerId: key.ownerId,
    createdAt: now,
    expiresAt,
    usedAt: null,
  })
  return { code, ownerId: key.ownerId, expiresAt }
}

const CODE_REFUSED =
  'This sign-in code is not valid: it was used already, it expired (codes last 10 minutes), ' +
  'or it never existed. Ask for a new one (darkroom keys code <key id>).'

/**
 * Whom a code would sign in as, without using it (the gallery asks before it switches
 * identity). Throws `UNAUTHORIZED` for a used, expired or unknown code.
 */
export async function inspectSignInCode(
  serverStore: ServerStore,
  code: string,
  deps: KeyDeps = {},
): Promise<{ ownerId: string; expiresAt: Date }> {
  const record = isSignInCodeShaped(code)
    ? await serverStore.findSignInCodeByHash(hashApiKey(code))
    : null
  const now = (deps.clock ?? systemClock).now()
  if (!record || record.usedAt !== null || now.getTime() >= record.expiresAt.getTime()) {
    throw new DarkroomError('UNAUTHORIZED', CODE_REFUSED)
  }
  return { ownerId: record.ownerId, expiresAt: record.expiresAt }
}

export interface CreatedSession {
  /** The session token (cookie value, bearer); not stored. */
  token: string
  session: Omit<SessionRecord, 'hash'>
}

/** Uses the code (once) and opens a session of its key. Throws `UNAUTHORIZED`. */
export async function exchangeSignInCode(
  serverStore: ServerStore,
  code: string,
  deps: KeyDeps = {},
): Promise<CreatedSession> {
  const now = (deps.clock ?? systemClock).now()
  const record = isSignInCodeShaped(code)
    ? await serverStore.consumeSignInCode(hashApiKey(code), now)
    : null
  if (!record) throw new DarkroomError('UNAUTHORIZED', CODE_REFUSED)
  const key = await serverStore.getApiKey(record.keyId)
  if (!key || key.revokedAt !== null) {
    throw new DarkroomError('UNAUTHORIZED', 'The API key of this sign-in code has been revoked.')
  }
  return createSession(
    serverStore,
    { keyId: key.id, ownerId: key.ownerId, scopes: key.scopes },
    deps,
  )
}

/**
 * Opens a session for a caller already authenticated: as an API key (`keyId`), or as an app's
 * own sign-in (`keyId` null: the owner and scopes are kept as given).
 */
export async function createSession(
  serverStore: ServerStore,
  input: { keyId: string | null; ownerId: string; scopes: readonly string[] },
  deps: KeyDeps = {},
): Promise<CreatedSession> {
  const token = SESSION_TOKEN_PREFIX + randomBase62(40)
  const now = (deps.clock ?? systemClock).now()
  const record: SessionRecord = {
    id: (deps.ids ?? uuidV7Ids).newId(),
    hash: hashApiKey(token),
    keyId: input.keyId,
    ownerId: input.ownerId,
    scopes: [...input.scopes],
    createdAt: now,
    expiresAt: new Date(now.getTime() + SESSION_TTL_MS),
    revokedAt: null,
  }
  await serverStore.insertSession(record)
  const { hash: _hash, ...session } = record
  return { token, session }
}

/**
 * The caller a session token stands for, or null when it is unknown, revoked, expired, or its
 * key is revoked.
 */
export async function callerOfSession(
  serverStore: ServerStore,
  token: string,
  deps: KeyDeps = {},
): Promise<Caller | null> {
  if (!isSessionTokenShaped(token)) return null
  const session = await serverStore.findSessionByHash(hashApiKey(token))
  const now = (deps.clock ?? systemClock).now()
  if (!session || session.revokedAt !== null || now.getTime() >= session.expiresAt.getTime()) {
    return null
  }
  if (session.keyId === null) return { ownerId: session.ownerId, scopes: [...session.scopes] }
  const key = await serverStore.getApiKey(session.keyId)
  if (!key || key.revokedAt !== null) return null
  return { ownerId: key.ownerId, scopes: [...key.scopes] }
}

/** Revokes the session of this token, if there is one (idempotent). */
export async function revokeSessionToken(
  serverStore: ServerStore,
  token: string,
  deps: KeyDeps = {},
): Promise<void> {
  if (!isSessionTokenShaped(token)) return
  const session = await serverStore.findSessionByHash(hashApiKey(token))
  if (session) await serverStore.revokeSession(session.id, (deps.clock ?? systemClock).now())
}

/**
 * `Authorization: Bearer ds_...`: the session's caller. No `ds_` bearer: null. A dead session
 * (unknown, revoked, expired, its key revoked): `UNAUTHORIZED`, never a silent anonymous.
 */
export function sessionAuthenticator(
  serverStore: ServerStore,
  options: { clock?: Clock } = {},
): Authenticate {
  return async ({ headers }) => {
    const token = bearerToken(headers)
    if (token === null || !token.startsWith(SESSION_TOKEN_PREFIX)) return null
    const caller = await callerOfSession(serverStore, token, options)
    if (!caller) {
      throw new DarkroomError(
        'UNAUTHORIZED',
        'The session has ended (signed out, expired, or its key revoked): sign in again.',
      )
    }
    return caller
  }
}
