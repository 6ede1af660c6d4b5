import type { IncomingMessage } from 'node:http'
import proxyAddr from 'proxy-addr'

/**
 * The client's address, for the per-address limits on guests. The peer of the socket is the
 * client unless it is a proxy the operator trusts; then `X-Forwarded-For` is read from the right,
 * hop by hop, and the first address that is not a trusted proxy is the client (`proxy-addr`,
 * Express' rule). An address a client wrote into the header itself lies to the left of what
 * its proxy appended, so it is never reached while the proxy is trusted and the client is not.
 * Without trusted proxies the header is ignored: a client cannot buy a fresh bucket by
 * sending one.
 *
 * `TrustProxy`: a hop count (`1`: the peer is a proxy, the address it appended is the client's),
 * or the proxies' addresses and CIDR ranges, where `loopback`, `linklocal` and `uniquelocal`
 * stand for those ranges (IPv4 and IPv6). `0` or an empty list trust no one.
 */
export type TrustProxy = number | readonly string[]

export type ClientAddress = (peer: string | undefined, headers: Headers) => string | undefined

/** The function that finds the client's address under `trust`; throws `TypeError` for a bad one. */
export function clientAddressFor(trust: TrustProxy | undefined): ClientAddress {
  const trusts = compileTrust(trust)
  if (!trusts) return (peer) => peer
  return (peer, headers) => {
    if (!peer) return peer
    const forwarded = headers.get('x-forwarded-for')
    if (!forwarded) return peer
    // proxy-addr reads a Node request: the socket's address and the header.
    const req = { socket: { remoteAddress: peer }, headers: { 'x-forwarded-for': forwarded } }
    return proxyAddr(req as unknown as IncomingMessage, trusts)
  }
}

function compileTrust(
  trust: TrustProxy | undefined,
): ((addr: string, i: number) => boolean) | null {
  if (trust === undefined) return null
  if (typeof trust === 'number') {
    if (!Number.isInteger(trust) || trust < 0) {
      throw new TypeError(`trustProxy: a hop count must be a whole number ≥ 0 (got ${trust})`)
    }
    return trust === 0 ? null : (_addr, i) => i < trust
  }
  if (trust.length === 0) return null
  try {
    return proxyAddr.compile([...trust])
  } catch (error) {
    throw new TypeError(`trustProxy: ${(error as Error).message}`)
  }
}
