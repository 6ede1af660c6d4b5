import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { request as httpRequest, type RequestOptions } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import { checkWebhookUrl, hostOf, vetAddress, type WebhookUrlPolicy } from '@darkroom/trpc'

/** How the delivery worker sends one webhook: `fetch` fits it, and so does `guardedPost`. */
export type WebhookTransport = (
  url: string,
  init: {
    method: 'POST'
    headers: Record<string, string>
    body: string
    redirect: 'manual'
    signal: AbortSignal
  },
) => Promise<{ status: number; body?: { cancel(): Promise<void> } | null }>

/**
 * A webhook POST that can only reach where the policy allows: the URL is checked again (port,
 * scheme, a literal address), and the connection resolves the host itself and refuses every
 * address inside the network, connecting to the one it vetted (so a DNS answer that changes
 * between the check and the connect cannot send it inward). Redirects are not followed.
 * `resolver` is node:dns `lookup` (tests give one that answers what they need).
 */
export function guardedPost(
  policy: WebhookUrlPolicy,
  resolver: typeof dnsLookup = dnsLookup,
): WebhookTransport {
  return async (url, init) => {
    await checkWebhookUrl(url, policy)
    const target = new URL(url)
    const host = hostOf(target)
    const lookup: LookupFunction = (hostname, options, callback) => {
      resolver(hostname, { ...options, all: true, verbatim: true }, (error, addresses) => {
        if (error) return callback(error, '', 0)
        const list = addresses as unknown as LookupAddress[]
        const vetted = list.filter((a) => vetAddress(a.address, host, policy) === null)
        if (vetted.length === 0) {
          const reason = list.map((a) => vetAddress(a.address, host, policy)).find(Boolean)
          const refused = new Error(
            `webhook host ${hostname} resolves inside the network (${reason ?? 'no address'})`,
          ) as NodeJS.ErrnoException
          refused.code = 'EWEBHOOKADDRESS'
          return callback(refused, '', 0)
        }
        if ((options as { all?: boolean }).all) {
          return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, vetted)
        }
        callback(null, vetted[0]!.address, vetted[0]!.family)
      })
    }
    // A literal address never goes through `lookup`: judge it here.
    const literalReason = /^[\d.]+$|:/.test(host) ? vetAddress(host, host, policy) : null
    if (literalReason)
      throw new Error(`webhook address ${host} is inside the network (${literalReason})`)
    const options: RequestOptions = {
      method: init.method,
      headers: { ...init.headers, 'Content-Length': String(Buffer.byteLength(init.body)) },
      lookup,
      signal: init.signal,
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest
    return new Promise((resolve, reject) => {
      const req = send(target, options, (res) => {
        res.resume()
        resolve({ status: res.statusCode ?? 0 })
      })
      req.on('error', reject)
      req.end(init.body)
    })
  }
}
