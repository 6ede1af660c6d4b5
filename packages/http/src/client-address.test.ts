import { describe, expect, it } from 'vitest'
import { clientAddressFor } from './client-address.js'

const xff = (value: string) => new Headers({ 'x-forwarded-for': value })

describe('clientAddressFor', () => {
  it('ignores X-Forwarded-For when no proxy is trusted', () => {
    for (const trust of [undefined, 0, []]) {
      const address = clientAddressFor(trust)
      expect(address('10.0.0.1', xff('203.0.113.5'))).toBe('10.0.0.1')
    }
  })

  it('with a hop count, takes the address that many hops from the peer', () => {
    expect(clientAddressFor(1)('10.0.0.1', xff('192.0.2.9, 203.0.113.5'))).toBe('203.0.113.5')
    expect(clientAddressFor(2)('10.0.0.1', xff('192.0.2.9, 203.0.113.5'))).toBe('192.0.2.9')
    // More hops than the header has: the leftmost one.
    expect(clientAddressFor(5)('10.0.0.1', xff('203.0.113.5'))).toBe('203.0.113.5')
  })

  it('with proxy addresses, takes the rightmost address that is not one of them', () => {
    const address = clientAddressFor(['loopback', '10.0.0.0/8'])
    expect(address('127.0.0.1', xff('192.0.2.9, 203.0.113.5, 10.1.2.3'))).toBe('203.0.113.5')
    expect(address('::ffff:127.0.0.1', xff('203.0.113.5'))).toBe('203.0.113.5')
    // A peer that is no trusted proxy is the client, whatever it forwards.
    expect(address('198.51.100.1', xff('203.0.113.5'))).toBe('198.51.100.1')
    expect(address('127.0.0.1', new Headers())).toBe('127.0.0.1')
  })

  it('refuses a bad setting with a TypeError naming it', () => {
    expect(() => clientAddressFor(-1)).toThrow(/trustProxy: a hop count/)
    expect(() => clientAddressFor(['not-an-address'])).toThrow(/trustProxy: .*not-an-address/)
  })
})
