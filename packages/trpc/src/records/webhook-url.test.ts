import { isDarkroomError } from '@darkroom/core'
import { describe, expect, it } from 'vitest'
import { checkWebhookUrl, vetAddress } from './webhook-url.js'

/** Webhook URLs that point inside the network, in every spelling an attacker tries. */

async function refusal(url: string, policy = {}): Promise<string> {
  try {
    await checkWebhookUrl(url, policy)
  } catch (error) {
    if (isDarkroomError(error) && error.code === 'VALIDATION') {
      expect(error.violations[0]!.property).toBe('url')
      return error.violations[0]!.message
    }
    throw error
  }
  return 'accepted'
}

describe('checkWebhookUrl', () => {
  it.each([
    ['http://127.0.0.1/hook', 'loopback'],
    ['http://[::1]/hook', 'loopback'],
    ['http://2130706433/hook', 'loopback'],
    ['http://0x7f.1/hook', 'loopback'],
    ['http://0177.0.0.1/hook', 'loopback'],
    ['http://127.1/trpc/photos.list', 'loopback'],
    ['http://0.0.0.0/hook', 'unspecified'],
    ['http://10.0.0.2/hook', 'private'],
    ['http://192.168.1.10/hook', 'private'],
    ['http://172.16.5.4/hook', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'linkLocal'],
    ['http://100.64.1.1/hook', 'carrierGradeNat'],
    ['http://[fd00::1]/hook', 'uniqueLocal'],
    ['http://[fe80::1]/hook', 'linkLocal'],
    ['http://[ff02::1]/hook', 'multicast'],
    ['http://224.0.0.1/hook', 'multicast'],
    ['http://[::ffff:127.0.0.1]/hook', 'loopback'],
    ['http://[::ffff:a9fe:a9fe]/hook', 'linkLocal'],
    ['http://[64:ff9b::7f00:1]/hook', 'loopback'],
    ['http://[2002:7f00:1::]/hook', 'loopback'],
    ['http://localhost/hook', 'a local name'],
    ['http://api.localhost/hook', 'a local name'],
    ['http://intranet/hook', 'a local name'],
  ])('refuses %s (%s)', async (url, reason) => {
    expect(await refusal(url)).toContain(reason)
  })

  it('allows only ports 80 and 443 unless the operator lists others', async () => {
    expect(await refusal('https://hooks.example.com:8443/x')).toContain(
      'port must be one of 80, 443',
    )
    expect(await refusal('https://hooks.example.com:8443/x', { allowedPorts: [8443] })).toBe(
      'accepted',
    )
    expect(await refusal('https://hooks.example.com:1/x', { allowedPorts: 'any' })).toBe('accepted')
  })

  it('refuses schemes other than http(s) and credentials', async () => {
    expect(await refusal('file:///etc/passwd')).toContain('http or https')
    expect(await refusal('gopher://example.com/')).toContain('http or https')
    expect(await refusal('https://u:p@hooks.example.com/')).toContain('credentials')
  })

  it("lets an operator's own receivers through by name, address or range", async () => {
    const policy = {
      allowedHosts: ['127.0.0.1', 'receiver.internal', '10.1.0.0/16'],
      allowedPorts: 'any' as const,
    }
    expect(await refusal('http://127.0.0.1:9999/hook', policy)).toBe('accepted')
    expect(await refusal('http://10.1.2.3/hook', policy)).toBe('accepted')
    expect(await refusal('http://10.2.0.1/hook', policy)).toContain('private')
    expect(await refusal('http://[::1]/hook', policy)).toContain('loopback')
    expect(vetAddress('127.0.0.1', 'receiver.internal', policy)).toBeNull()
  })

  it('accepts a public address and judges resolved addresses at connect time', async () => {
    expect(await refusal('https://93.184.216.34/hook')).toBe('accepted')
    expect(vetAddress('93.184.216.34', 'hooks.example.com')).toBeNull()
    expect(vetAddress('127.0.0.1', 'hooks.example.com')).toBe('loopback')
    expect(vetAddress('::ffff:10.0.0.1', 'hooks.example.com')).toBe('private')
  })
})
