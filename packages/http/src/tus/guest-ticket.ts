import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { DarkroomError } from '@darkroom/core'

/**
 * Guests share one owner, so the owner check that keeps one user's tus uploads from another's
 * cannot tell guests apart. Each guest's uploads are bound to a ticket instead: a random 256-bit
 * value in an HttpOnly cookie (`darkroom_guest`), set by the guest's first upload and kept for
 * as long as an upload lives. The binding is in the upload id itself: a guest's id is a random
 * part followed by its HMAC under the ticket, so nothing is stored, every process checks it
 * alike, and it holds for a settled upload answered from its record. A request for a guest
 * upload without the ticket that made it (another guest, a forged cookie, no cookie) gets the
 * 404 of a missing upload, whatever it knows of the URL.
 *
 * A browser sends the cookie with tus-js-client's requests on its own (same origin; across
 * origins with `withCredentials`). Other clients send back what `Set-Cookie` gave them.
 */

export const GUEST_COOKIE = 'darkroom_guest'

/** 32 random bytes, base64url: 43 characters. */
const TICKET = /^[A-Za-z0-9_-]{43}$/
/** A guest upload id's random part and its tag, in hex. */
const RANDOM_HEX = 32
const TAG_HEX = 32

export function newTicket(): string {
  return randomBytes(32).toString('base64url')
}

/** The guest ticket the request's `Cookie` carries, or null (none, or not one of ours). */
export function ticketOf(request: Request): string | null {
  const header = request.headers.get('cookie') ?? ''
  for (const part of header.split(';')) {
    const [name, ...rest] = part.trim().split('=')
    if (name !== GUEST_COOKIE) continue
    const value = rest.join('=')
    if (TICKET.test(value)) return value
  }
  return null
}

/** `id` (a random hex id, possibly prefixed) bound to `ticket`: the id with its tag appended. */
export function bindToTicket(id: string, ticket: string): string {
  return `${id}${tagOf(id, ticket)}`
}

/** Whether `id` was made by `bindToTicket` under `ticket`. */
export function isBoundTo(id: string, ticket: string | null): boolean {
  if (!ticket || id.length < RANDOM_HEX + TAG_HEX) return false
  const base = id.slice(0, -TAG_HEX)
  const tag = Buffer.from(id.slice(-TAG_HEX))
  const expected = Buffer.from(tagOf(base, ticket))
  return tag.length === expected.length && timingSafeEqual(tag, expected)
}

/** Refuses, as a missing upload, a guest request for an upload that is not its own. */
export function requireBound(id: string | null, ticket: string | null): void {
  if (id === null || !isBoundTo(id, ticket)) throw DarkroomError.notFound('Upload', id ?? '')
}

/**
 * The `Set-Cookie` of a new ticket: HttpOnly (no script reads it), SameSite=Strict (no other
 * site's page sends it), for the upload path only, as long as an upload lives; Secure over HTTPS.
 */
export function ticketCookie(
  ticket: string,
  options: { path: string; maxAgeMs: number; secure: boolean },
): string {
  const maxAge = Math.max(1, Math.ceil(options.maxAgeMs / 1000))
  return [
    `${GUEST_COOKIE}=${ticket}`,
    `Path=${options.path}`,
    `Max-Age=${maxAge}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ')
}

function tagOf(id: string, ticket: string): string {
  return createHmac('sha256', ticket).update(id).digest('hex').slice(0, TAG_HEX)
}
