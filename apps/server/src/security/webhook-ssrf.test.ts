import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { TRPCClientError } from '@trpc/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../testing/harness.js'
import { guardedPost } from '../webhooks/guarded-post.js'

/**
 * Webhook SSRF through the real server: URLs that point inside the network (the server's own
 * /trpc among them) are refused when a webhook is created, an owner has at most
 * `WEBHOOK_MAX_PER_OWNER` of them, and a delivery whose host resolves inward at connect time
 * (DNS rebinding) is refused before a byte is sent. Every target here is loopback.
 */

let server: TestServer
let key: string
let receiver: Server
let receiverUrl: string
const received: IncomingMessage[] = []

beforeAll(async () => {
  server = await startServer({ env: { WEBHOOK_MAX_PER_OWNER: '3' }, compose: { timers: false } })
  key = await server.key('mallory')
  receiver = createServer((req, res) => {
    received.push(req)
    res.end('ok')
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
})
afterAll(async () => {
  await server?.close()
  await new Promise((resolve) => receiver?.close(resolve))
})

async function create(url: string) {
  try {
    await server.client(key).webhooks.create.mutate({ url })
    return 'created'
  } catch (error) {
    if (!(error instanceof TRPCClientError)) throw error
    const data = error.data as {
      httpStatus: number
      darkroom: { violations: { message: string }[] }
    }
    return `${data.httpStatus} ${data.darkroom?.violations[0]?.message ?? error.message}`
  }
}

describe('webhook URLs', () => {
  it("refuses the server's own API and every inward spelling, at creation", async () => {
    const port = new URL(server.url).port
    for (const url of [
      `${server.url}/trpc/photos.list`,
      `http://127.0.0.1:${port}/trpc`,
      'http://127.0.0.1/hook',
      'http://[::1]/hook',
      'http://2130706433/hook',
      'http://0x7f.1/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:7f00:1]/hook',
      'http://localhost/hook',
      'http://10.0.0.5/hook',
    ]) {
      expect(await create(url), url).toMatch(/^422 The webhook URL/)
    }
    expect(received).toHaveLength(0)
  })

  it('caps the webhooks of one owner', async () => {
    for (let i = 0; i < 3; i++) {
      expect(await create(`https://hooks.example.com/${i}`)).toBe('created')
    }
    expect(await create('https://hooks.example.com/3')).toMatch(/^400 .*at most 3 webhooks/)
  })
})

describe('webhook delivery', () => {
  const init = () => ({
    method: 'POST' as const,
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
    redirect: 'manual' as const,
    signal: AbortSignal.timeout(5_000),
  })

  it('refuses a host that resolves inward when it connects (a rebinding DNS answer)', async () => {
    // The name resolved to a public address when it was checked; now it answers loopback.
    const rebinding = ((_host: string, _options: unknown, callback: Function) =>
      callback(null, [{ address: '127.0.0.1', family: 4 }])) as never
    const port = new URL(receiverUrl).port
    const send = guardedPost({ allowedPorts: 'any' }, rebinding)
    await expect(send(`http://hooks.example.com:${port}/hook`, init())).rejects.toThrow(
      /resolves inside the network \(loopback\)/,
    )
    await expect(send(receiverUrl, init())).rejects.toThrow(/inside the network/)
    expect(received).toHaveLength(0)
  })

  it("delivers to an operator's own receiver named in WEBHOOK_ALLOWED_HOSTS", async () => {
    const send = guardedPost({ allowedPorts: 'any', allowedHosts: ['127.0.0.1'] })
    const response = await send(receiverUrl, init())
    expect(response.status).toBe(200)
    expect(received).toHaveLength(1)
  })
})
