import { createDarkroomClient, type DarkroomClient } from '../../src/client.js'

/**
 * Who is signed in, and how. Two ways in:
 *
 * - an API key typed into the sign-in form: kept in localStorage (`darkroom.apiKey`) and sent
 *   as the bearer of `/trpc` and `/files`;
 * - a one-time sign-in link (`/#code=sc_...`, printed on first start or by `darkroom keys
 *   code`): the page exchanges the code once (`POST /session`) for a session token (`ds_...`),
 *   kept in localStorage (`darkroom.sessionToken`) and used as the bearer the same way.
 *
 * Either way `POST /session` also sets the HttpOnly cookie `<img>` and `<video>` need for
 * private pictures; it carries a session id, never the key. A link never switches identity by
 * itself: the page asks first (see app.tsx), and an old `#key=` link is refused, since anyone
 * could send one (login CSRF, issue 15 #6). Links leave the address bar as soon as they are read.
 */

const KEY_STORAGE = 'darkroom.apiKey'
const TOKEN_STORAGE = 'darkroom.sessionToken'

export interface Session {
  /** The bearer of `/trpc` and `/files`: an API key or a session token. */
  key: string
  /** Who it signs in as. */
  ownerId: string
  client: DarkroomClient
}

/** What the address bar brought: a sign-in code, an old key link, or nothing. */
export type SignInLink = { kind: 'code'; code: string } | { kind: 'key' } | null

/** Reads `#code=` or `#key=` from the fragment and removes it from the address bar at once. */
export function takeSignInLink(): SignInLink {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''))
  const code = fragment.get('code')
  const key = fragment.get('key')
  if (code === null && key === null) return null
  history.replaceState(null, '', location.pathname + location.search)
  return code !== null ? { kind: 'code', code: code.trim() } : { kind: 'key' }
}

export const KEY_LINK_REFUSED =
  'This link has an API key in its address. Darkroom no longer signs in from such links, since ' +
  'anyone could send you one: if the key is yours, paste it into the sign-in form.'

/** The stored credential of an earlier visit, if any. */
export function storedCredential(): string | null {
  try {
    return localStorage.getItem(TOKEN_STORAGE) ?? localStorage.getItem(KEY_STORAGE)
  } catch {
    return null
  }
}

interface SessionAnswer {
  ownerId: string
  token?: string
}

async function postSession(init: RequestInit, refusal: string): Promise<SessionAnswer> {
  const res = await fetch('/session', { method: 'POST', credentials: 'same-origin', ...init })
  const body = (await res.json().catch(() => null)) as
    (SessionAnswer & { error?: { message?: string } }) | null
  if (!res.ok || !body?.ownerId) {
    throw new Error(
      res.status === 401
        ? refusal
        : (body?.error?.message ?? `Sign-in failed (HTTP ${res.status}).`),
    )
  }
  return body
}

function sessionOf(bearer: string, ownerId: string): Session {
  return {
    key: bearer,
    ownerId,
    client: createDarkroomClient({ baseUrl: location.origin, apiKey: bearer }),
  }
}

function remember(storage: string, value: string): void {
  try {
    localStorage.removeItem(KEY_STORAGE)
    localStorage.removeItem(TOKEN_STORAGE)
    localStorage.setItem(storage, value)
  } catch {
    // Private mode: the session lasts as long as the tab.
  }
}

/**
 * Signs in with an API key or a stored session token: checks it against the server, which sets
 * the picture cookie, and keeps it.
 */
export async function signIn(credential: string): Promise<Session> {
  const trimmed = credential.trim()
  const isToken = /^ds_[A-Za-z0-9]+$/.test(trimmed)
  if (!isToken && !/^sk_[A-Za-z0-9]+$/.test(trimmed)) {
    throw new Error('An API key looks like sk_ followed by letters and digits.')
  }
  const { ownerId } = await postSession(
    { headers: { authorization: `Bearer ${trimmed}` } },
    isToken
      ? 'Your session has ended: sign in again.'
      : 'This API key was not accepted: check it, or ask for a new one.',
  )
  remember(isToken ? TOKEN_STORAGE : KEY_STORAGE, trimmed)
  return sessionOf(trimmed, ownerId)
}

const CODE_REFUSED = 'This sign-in link is not valid any more: ask for a new one.'

/** Whom a sign-in code would sign in as, without using it. */
export async function inspectCode(code: string): Promise<string> {
  const { ownerId } = await postSession(
    {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, inspect: true }),
    },
    CODE_REFUSED,
  )
  return ownerId
}

/** Uses a sign-in code (once): the server answers a session token, which is kept. */
export async function exchangeCode(code: string): Promise<Session> {
  const { ownerId, token } = await postSession(
    { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) },
    CODE_REFUSED,
  )
  if (!token) throw new Error('Sign-in failed: the server sent no session.')
  remember(TOKEN_STORAGE, token)
  return sessionOf(token, ownerId)
}

/** Forgets the credential and ends the server's session (the cookie's, and the token's). */
export async function signOut(session?: Session | null): Promise<void> {
  try {
    localStorage.removeItem(KEY_STORAGE)
    localStorage.removeItem(TOKEN_STORAGE)
  } catch {
    // nothing stored
  }
  const bearer: Record<string, string> = session?.key.startsWith('ds_')
    ? { authorization: `Bearer ${session.key}` }
    : {}
  await fetch('/session', { method: 'DELETE', credentials: 'same-origin', headers: bearer }).catch(
    () => undefined,
  )
}
