import { type Clock, type ServerStore } from '@darkroom/core'
import {
  bearerToken,
  createSession,
  exchangeSignInCode,
  hashApiKey,
  inspectSignInCode,
  isSessionTokenShaped,
  revokeSessionToken,
  SESSION_TOKEN_PREFIX,
} from '@darkroom/trpc'
import type { Logger } from './logger.js'
import { requireCaller, type Authenticate } from './auth.js'
import { readJson } from './api/json-body.js'
import { HttpProblem } from './errors.js'
import { empty, errorResponse, json } from './internal/responses.js'

/**
 * A browser's `<img>` cannot send `Authorization: Bearer`, so a page signs in once with
 * `POST /session` and the server sets an HttpOnly cookie that the picture routes read:
 *
 * - with `Authorization: Bearer sk_...` (a key typed into the gallery, or the app's own
 *   credentials): opens a session of that key; answers `{ ownerId, scopes, expiresAt }`;
 * - with the JSON body `{ "code": "sc_..." }` (a one-time sign-in link): uses the code and opens
 *   a session of its key; answers the same plus `token`, the page's bearer for `/trpc` and
 *   `/files` (a `ds_` session token). `{ "code", "inspect": true }` only says whose code it is
 *   (`{ ownerId }`), without using it, so that the page can ask before switching identity.
 *
 * The cookie (`darkroom_session`) carries the session's random token, never the key; only its
 * sha256 is stored, and it dies on `DELETE /session`, on expiry (7 days) and with its key. It is
 * `HttpOnly; SameSite=Strict; Path=<basePath>/`, `Secure` when the request came over https (or,
 * with `trustProxy`, when the proxy says `X-Forwarded-Proto: https`). It is read **only** by the
 * GET routes that serve pictures (through `withSessionCookie`), never by `/trpc` or `/files`,
 * so a cross-site form cannot ride it to change anything.
 *
 * Login CSRF: a code in a form from another site must not sign the browser in. The code is
 * accepted only as `application/json` (a form cannot send that without a CORS preflight) and
 * never from a request the browser marks `Sec-Fetch-Site: cross-site` or `same-site`.
 */

export const SESSION_COOKIE = 'darkroom_session'
const MAX_SESSION_BODY_BYTES = 1024

export function createSessionRoute(options: {
  authenticate: Authenticate
  serverStore: ServerStore
  /** The handler's base path: the cookie is sent to its routes only. */
  basePath?: string
  /** Honour `X-Forwarded-Proto` (the handler sits behind a TLS proxy the operator runs). */
  trustProxy?: boolean
  logger: Logger
  clock: Clock
}) {
  const cookiePath = `${options.basePath ?? ''}/`
  const { serverStore, clock } = options
  return async function sessionRoute(request: Request, _path: string, url: URL) {
    try {
      const secure = isHttps(request, url, options.trustProxy === true) ? '; Secure' : ''
      const base = `Path=${cookiePath}; HttpOnly; SameSite=Strict${secure}`
      if (request.method === 'DELETE') {
        // The cookie's session, and the bearer's when the page signs out with its token.
        const token = readCookie(request.headers.get('cookie'), SESSION_COOKIE)
        if (token) await revokeSessionToken(serverStore, token, { clock })
        const bearer = bearerToken(request.headers)
        if (bearer?.startsWith(SESSION_TOKEN_PREFIX)) {
          await revokeSessionToken(serverStore, bearer, { clock })
        }
        return empty(204, {
          'Set-Cookie': `${SESSION_COOKIE}=; ${base}; Max-Age=0`,
          'Cache-Control': 'no-store',
        })
      }
      if (request.method !== 'POST') {
        throw new HttpProblem(405, 'METHOD_NOT_ALLOWED', 'Use POST or DELETE.', {
          Allow: 'POST, DELETE',
        })
      }
      const headers = request.headers
      if (!headers.has('authorization') && isJson(headers)) {
        refuseCrossSite(headers)
        const body = (await readJson(request, MAX_SESSION_BODY_BYTES)) as {
          code?: unknown
          inspect?: unknown
        } | null
        if (typeof body?.code !== 'string') {
          throw new HttpProblem(400, 'BAD_REQUEST', 'Send { "code": "sc_..." }.')
        }
        if (body.inspect === true) {
          const { ownerId, expiresAt } = await inspectSignInCode(serverStore, body.code, { clock })
          return json(200, { ownerId, expiresAt: expiresAt.toISOString() })
        }
        const { token, session } = await exchangeSignInCode(serverStore, body.code, { clock })
        return json(
          200,
          {
            token,
            ownerId: session.ownerId,
            scopes: session.scopes,
            expiresAt: session.expiresAt.toISOString(),
          },
          { 'Set-Cookie': `${SESSION_COOKIE}=${token}; ${base}` },
        )
      }
      if (!headers.has('authorization')) refuseCrossSite(headers)
      const caller = requireCaller(await options.authenticate({ headers }))
      const bearer = bearerToken(headers)
      if (!bearer) {
        throw new HttpProblem(400, 'BAD_REQUEST', 'Sign in with Authorization: Bearer sk_....')
      }
      // A key: the session stands for it (and dies with it); anything else: for its caller.
      const key = await serverStore.findApiKeyByHash(hashApiKey(bearer))
      const { token, session } = await createSession(
        serverStore,
        key && key.ownerId === caller.ownerId
          ? { keyId: key.id, ownerId: key.ownerId, scopes: key.scopes }
          : { keyId: null, ownerId: caller.ownerId, scopes: caller.scopes },
        { clock },
      )
      return json(
        200,
        {
          ownerId: session.ownerId,
          scopes: session.scopes,
          expiresAt: session.expiresAt.toISOString(),
        },
        { 'Set-Cookie': `${SESSION_COOKIE}=${token}; ${base}` },
      )
    } catch (error) {
      return errorResponse(error, options.logger)
    }
  }
}

/**
 * `authenticate`, falling back to the `darkroom_session` cookie when the request has no
 * `Authorization` header. For the picture routes only (see above); `authenticate` must know
 * session tokens (`sessionAuthenticator`, which the handler's does).
 */
export function withSessionCookie(authenticate: Authenticate): Authenticate {
  return async (req) => {
    if (req.headers.has('authorization')) return authenticate(req)
    const token = readCookie(req.headers.get('cookie'), SESSION_COOKIE)
    if (!token || !isSessionTokenShaped(token)) return authenticate(req)
    const headers = new Headers(req.headers)
    headers.set('authorization', `Bearer ${token}`)
    // A session that has ended reads as anonymous (public pictures still load).
    return authenticate({ headers }).catch((error: unknown) => {
      if ((error as { code?: unknown } | null)?.code === 'UNAUTHORIZED') return null
      throw error
    })
  }
}

/** Whether the browser's request was https: the URL's scheme, or a trusted proxy's word. */
export function isHttps(request: Request, url: URL, trustProxy: boolean): boolean {
  if (url.protocol === 'https:') return true
  if (!trustProxy) return false
  // The proxy nearest the client wrote the first value.
  const forwarded = request.headers.get('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase()
  return forwarded === 'https'
}

function isJson(headers: Headers): boolean {
  const type = headers.get('content-type')?.split(';')[0]?.trim().toLowerCase()
  return type === 'application/json'
}

/** What a page of another site sends (a form, a fetch) never signs this browser in. */
function refuseCrossSite(headers: Headers): void {
  const site = headers.get('sec-fetch-site')
  if (site === 'cross-site' || site === 'same-site') {
    throw new HttpProblem(
      403,
      'FORBIDDEN',
      'Sign-in is accepted only from this site’s own pages (Sec-Fetch-Site).',
    )
  }
}

function readCookie(header: string | null, name: string): string | null {
  if (!header) return null
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim()
      return /^[A-Za-z0-9_-]+$/.test(value) ? value : null
    }
  }
  return null
}
