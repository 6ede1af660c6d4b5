import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * `Darkroom-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. Signing the
 * timestamp with the body lets a receiver refuse replays: check the signature, then that `t`
 * is recent (five minutes is usual).
 *
 * @example
 * const ok = verifyWebhookSignature(secret, rawBody, req.headers['darkroom-signature'])
 */
export const SIGNATURE_HEADER = 'Darkroom-Signature'
export const EVENT_ID_HEADER = 'Darkroom-Event-Id'

export function signWebhook(secret: string, body: string, timestamp: number): string {
  const t = Math.floor(timestamp)
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')
  return `t=${t},v1=${v1}`
}

export function verifyWebhookSignature(
  secret: string,
  body: string,
  header: string | null | undefined,
  options: { toleranceSec?: number; now?: number } = {},
): boolean {
  if (!header) return false
  const parts = new Map(
    header.split(',').map((part) => {
      const at = part.indexOf('=')
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const
    }),
  )
  const t = Number(parts.get('t'))
  const v1 = parts.get('v1') ?? ''
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/.test(v1)) return false
  const now = options.now ?? Date.now() / 1000
  if (Math.abs(now - t) > (options.toleranceSec ?? 300)) return false
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest()
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'))
}
