import { describe, expect, it } from 'vitest'
import { bindToTicket, isBoundTo, newTicket, ticketCookie, ticketOf } from './guest-ticket.js'

const withCookie = (cookie: string) => new Request('http://x/files', { headers: { cookie } })

describe('guest tickets', () => {
  it('binds an id to the ticket that made it, and to no other', () => {
    const ticket = newTicket()
    const id = bindToTicket('0123456789abcdef0123456789abcdef', ticket)
    expect(id).toMatch(/^[0-9a-f]{64}$/)
    expect(isBoundTo(id, ticket)).toBe(true)
    expect(isBoundTo(id, newTicket())).toBe(false)
    expect(isBoundTo(id, null)).toBe(false)
    // A partial upload's prefix is part of what is bound.
    const part = bindToTicket('part_0123456789abcdef0123456789abcdef', ticket)
    expect(isBoundTo(part, ticket)).toBe(true)
    expect(isBoundTo(part.replace('part_', 'pArt_'), ticket)).toBe(false)
    // A signed-in user's plain id, or a tag changed by one character, is no guest's.
    expect(isBoundTo('0123456789abcdef0123456789abcdef', ticket)).toBe(false)
    expect(isBoundTo(id.slice(0, -1) + (id.endsWith('0') ? '1' : '0'), ticket)).toBe(false)
  })

  it('reads the ticket from the Cookie header, ignoring anything that is not one', () => {
    const ticket = newTicket()
    expect(ticketOf(withCookie(`a=b; darkroom_guest=${ticket}; c=d`))).toBe(ticket)
    expect(ticketOf(withCookie('darkroom_guest=short'))).toBeNull()
    expect(ticketOf(new Request('http://x/files'))).toBeNull()
  })

  it('sets an HttpOnly, SameSite=Strict cookie for the upload path, Secure over HTTPS', () => {
    const cookie = ticketCookie('t', { path: '/media/files', maxAgeMs: 86_400_000, secure: true })
    expect(cookie).toBe(
      'darkroom_guest=t; Path=/media/files; Max-Age=86400; HttpOnly; SameSite=Strict; Secure',
    )
  })
})
