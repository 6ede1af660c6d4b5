import { lookup } from 'node:dns/promises'
import { DarkroomError } from '@darkroom/core'
import ipaddr from 'ipaddr.js'

/**
 * Where webhooks may be sent. A webhook is a request the server makes on an owner's behalf,
 * so its URL is checked twice: when it is created (`checkWebhookUrl`: scheme, no credentials,
 * an allowed port, and a host that is not, and does not resolve to, an address inside the
 * network) and when each delivery connects (`vetAddress` on every address the name resolves
 * to then, the connection pinned to the vetted one: a DNS answer that changes in between
 * cannot point it inward). Address classes come from ipaddr.js: only `unicast` is public;
 * loopback, private, link-local (the cloud metadata address), CGNAT, unique-local, multicast,
 * reserved and unspecified are refused, IPv4-mapped and NAT64/6to4/Teredo forms of them too.
 */
export interface WebhookUrlPolicy {
  /** Ports a webhook URL may name; default 80 and 443. `'any'`: every port. */
  allowedPorts?: readonly number[] | 'any'
  /**
   * Hosts exempt from the address rule (exact names, IP addresses or CIDR ranges such as
   * `10.0.0.0/8`): an operator's own receivers inside the network. Default none.
   */
  allowedHosts?: readonly string[]
}

const DEFAULT_PORTS = [80, 443]

/** The URL, normalised, or `VALIDATION` naming `url` with the reason. */
export async function checkWebhookUrl(
  value: string,
  policy: WebhookUrlPolicy = {},
): Promise<string> {
  let url: URL | null
  try {
    url = new URL(value)
  } catch {
    url = null
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw refused('The webhook URL must be an absolute http or https URL.')
  }
  if (url.username || url.password) throw refused('The webhook URL must not carry credentials.')
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  const ports = policy.allowedPorts ?? DEFAULT_PORTS
  if (ports !== 'any' && !ports.includes(port)) {
    throw refused(`The webhook URL's port must be one of ${ports.join(', ')} (it is ${port}).`)
  }
  const host = hostOf(url)
  if (!isAllowedHost(host, policy)) {
    if (ipaddr.isValid(host)) {
      const reason = inwardReason(host)
      if (reason) throw refused(`The webhook URL points inside the network (${reason}).`)
    } else if (host === 'localhost' || host.endsWith('.localhost') || !host.includes('.')) {
      throw refused('The webhook URL points inside the network (a local name).')
    } else {
      // A name that resolves inward now is refused now; one that does not resolve yet is
      // checked again at every delivery.
      const addresses = await lookup(host, { all: true, verbatim: true }).catch(() => [])
      const inward = addresses.map((a) => inwardReason(a.address)).find(Boolean)
      if (inward) throw refused(`The webhook URL's host resolves inside the network (${inward}).`)
    }
  }
  return url.href
}

/** Null when `address` may be connected to, else the reason (its class). */
export function vetAddress(
  address: string,
  host: string,
  policy: WebhookUrlPolicy = {},
): string | null {
  if (isAllowedHost(host, policy) || isAllowedHost(address, policy)) return null
  return inwardReason(address)
}

/** The URL's host without IPv6 brackets, lower case. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
}

function inwardReason(address: string): string | null {
  if (!ipaddr.isValid(address)) return 'not an IP address'
  let parsed = ipaddr.parse(address)
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6
    if (v6.isIPv4MappedAddress()) parsed = v6.toIPv4Address()
    else {
      // NAT64 (64:ff9b::/96), 6to4 (2002::/16) and Teredo embed an IPv4 address: judge it too.
      const range = v6.range()
      if (range === 'rfc6052' || range === 'rfc6145') {
        parsed = ipaddr.fromByteArray(v6.toByteArray().slice(12))
      } else if (range === '6to4') {
        parsed = ipaddr.fromByteArray(v6.toByteArray().slice(2, 6))
      } else if (range === 'teredo') {
        parsed = ipaddr.fromByteArray(
          v6
            .toByteArray()
            .slice(12)
            .map((b) => b ^ 0xff),
        )
      }
    }
  }
  const range = parsed.range()
  return range === 'unicast' ? null : range
}

function isAllowedHost(host: string, policy: WebhookUrlPolicy): boolean {
  for (const allowed of policy.allowedHosts ?? []) {
    const entry = allowed.trim().toLowerCase()
    if (entry === host) return true
    if (entry.includes('/') && ipaddr.isValid(host)) {
      try {
        const [range, bits] = ipaddr.parseCIDR(entry)
        const address = ipaddr.parse(host)
        if (address.kind() === range.kind() && address.match(range, bits)) return true
      } catch {
        // Not a CIDR range: compared by name only.
      }
    }
  }
  return false
}

function refused(message: string): DarkroomError {
  return DarkroomError.validation([{ property: 'url', message }])
}
