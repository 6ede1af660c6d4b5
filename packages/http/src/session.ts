import { isDarkroomError } from '@darkroom/core'
import type { Logger } from './logger.js'
import { requireCaller, type Authenticate } from './auth.js'
import { HttpProblem } from './errors.js'
import { empty, errorResponse } from './internal/responses.js'

/**
 * A browser's `<img>` cannot send `Authorization: Bearer`, so a page that holds an API key
 * lets the server put it in a cookie once: `POST /session` with the bearer header checks the
 * key and answers `Set-Cookie: darkroom_key=...; HttpOnly; SameSite=Strict; Path=/`; `DELETE
 * /session` clears it. The cookie is read **only** by the GET routes that serve pictures
 * (`/photos/...`, `/image/...`, through `withKeyCookie`), never by `/trpc` or `/files`, so it
 * cannot be ridden to change anything; `SameSite=Strict` keeps other sites from embedding a
 * private picture with it. Scripts cannot read it (HttpOnly).
 */

export const KEY_COOKIE = 'darkroom_key'

export function createSessionRoute(options: {
  authenticate: Authenticate
  /** The handler's base path: the cookie is sent to its picture routes only. */
  basePath?: string
  logger: Logger
}) {
  const cookiePath = `${options.basePath ?? ''}/`
  return async function sessionRoute(request: Request, _path: string, url: URL) {
    try {
      const secure = url.protocol === 'https:' ? '; Secure' : ''
      const base = `Path=${cookiePath}; HttpOnly; SameSite=Strict${secure}`
      if (request.method === 'DELETE') {
        return empty(204, {
          'Set-Cookie': `${KEY_COOKIE}=; ${base}; Max-Age=0`,
          'Cache-Control': 'no-store',
        })
      }
      if (request.method !== 'POST') {
        throw new HttpProblem(405, 'METHOD_NOT_ALLOWED', 'Use POST or DELETE.', {
          Allow: 'POST, DELETE',
        })
      }
      const headers = request.headers
      requireCaller(await options.authenticate({ headers }))
      const key = /^Bearer\s+(\S+)$/i.exec(headers.get('authorization') ?? '')?.[1]
      if (!key || !/^[A-Za-z0-9_-]+$/.test(key)) {
        throw new HttpProblem(400, 'BAD_REQUEST', 'Sign in with Authorization: Bearer sk_....')
      }
      return empty(204, {
        'Set-Cookie': `${KEY_COOKIE}=${key}; ${base}`,
        'Cache-Control': 'no-store',
      })
    } catch (error) {
      return errorResponse(error, options.logger)
    }
  }
}

/**
 * `authenticate`, falling back to the `darkroom_key` cookie when the request has no
 * `Authorization` header. For the picture routes only (see above).
 */
export function withKeyCookie(authenticate: Authenticate): Authenticate {
  return async (req) => {
    if (req.headers.has('authorization')) return authenticate(req)
    const key = readCookie(req.headers.get('cookie'), KEY_COOKIE)
    if (!key) return authenticate(req)
    const headers = new Headers(req.headers)
    headers.set('authorization', `Bearer ${key}`)
    // A revoked key left in the cookie reads as anonymous (public pictures still load).
    return authenticate({ headers }).catch((error: unknown) => {
      if (isDarkroomError(error) && error.code === 'UNAUTHORIZED') return null
      throw error
    })
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
