import { rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { makeJpeg } from '@darkroom/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LOOPBACK_WEBHOOKS, startServer, uploadForm, type TestServer } from '../testing/harness.js'
import { verifyWebhookSignature } from './signature.js'

/** Webhooks delivered to a receiver on 127.0.0.1: signed, retried, kept across a restart. */

interface Received {
  headers: Record<string, string | string[] | undefined>
  body: string
  status: number
  at: number
}

class Receiver {
  server!: Server
  url = ''
  received: Received[] = []
  /** Statuses to answer, in order; 200 once they run out. */
  script: number[] = []
  #waiters: { match: (r: Received) => boolean; resolve: (r: Received) => void }[] = []

  async start() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const status = this.script.shift() ?? 200
        const received = {
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          status,
          at: Date.now(),
        }
        this.received.push(received)
        res.writeHead(status).end()
        for (const waiter of [...this.#waiters]) {
          if (waiter.match(received)) {
            this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
            waiter.resolve(received)
          }
        }
      })
    })
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`
  }

  next(match: (r: Received) => boolean, timeoutMs = 10_000): Promise<Received> {
    const seen = this.received.find(match)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching webhook arrived')), timeoutMs)
      this.#waiters.push({
        match,
        resolve: (r) => {
          clearTimeout(timer)
          resolve(r)
        },
      })
    })
  }

  close() {
    this.server.closeAllConnections()
    return new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

const FAST = {
  ...LOOPBACK_WEBHOOKS,
  WEBHOOK_RETRY_BASE_MS: '100',
  WEBHOOK_RETRY_MAX_MS: '400',
  WEBHOOK_POLL_MS: '50',
}
let receiver: Receiver

beforeAll(async () => {
  receiver = new Receiver()
  await receiver.start()
})
afterAll(() => receiver.close())

const eventOf = (r: Received) =>
  JSON.parse(r.body) as { id: string; type: string; subjectId?: string }

describe('webhooks', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ env: FAST })
  })
  afterAll(() => server.close())

  it('delivers photo.uploaded with a valid signature, retrying after two 500s', async () => {
    const key = await server.key('erin')
    const client = server.client(key)
    const { secret } = await client.webhooks.create.mutate({
      url: receiver.url,
      events: ['photo.uploaded'],
    })
    receiver.script = [500, 500]
    const { uploaded } = await client.photos.upload.mutate(
      uploadForm([{ name: 'w.jpg', data: await makeJpeg({ seed: 501 }) }]),
    )
    const photoId = uploaded[0]!.id
    const delivered = await receiver.next(
      (r) => r.status === 200 && eventOf(r).subjectId === photoId,
    )
    const attempts = receiver.received.filter((r) => eventOf(r).subjectId === photoId)
    expect(attempts.map((r) => r.status)).toEqual([500, 500, 200])
    expect(delivered.headers['darkroom-delivery-attempt']).toBe('3')
    const event = eventOf(delivered)
    expect(event.type).toBe('photo.uploaded')
    expect(delivered.headers['darkroom-event-id']).toBe(event.id)
    expect(new Set(attempts.map((r) => eventOf(r).id)).size).toBe(1)
    const signature = delivered.headers['darkroom-signature'] as string
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)
    expect(verifyWebhookSignature(secret, delivered.body, signature)).toBe(true)
    expect(
      verifyWebhookSignature(secret, delivered.body.replace('photo', 'Photo'), signature),
    ).toBe(false)
    expect(verifyWebhookSignature('wrong', delivered.body, signature)).toBe(false)
  })
})

describe('webhooks across a restart', () => {
  it('does not lose an event when the server restarts between attempts', async () => {
    // The retry is due 1-2 s after the failure: long enough to be sure the new server sends it.
    let server = await startServer({
      env: { ...FAST, WEBHOOK_RETRY_BASE_MS: '2000', WEBHOOK_RETRY_MAX_MS: '2000' },
    })
    const dataDir = server.dataDir
    try {
      const key = await server.key('frank')
      const client = server.client(key)
      const { secret } = await client.webhooks.create.mutate({ url: receiver.url })
      receiver.script = [500]
      const { uploaded } = await client.photos.upload.mutate(
        uploadForm([{ name: 'r.jpg', data: await makeJpeg({ seed: 601 }) }]),
      )
      const photoId = uploaded[0]!.id
      const isOurs = (r: Received) =>
        eventOf(r).subjectId === photoId && eventOf(r).type === 'photo.uploaded'
      await receiver.next((r) => isOurs(r) && r.status === 500)

      // Stop before the retry, and come back on the same DATA_DIR.
      server = await server.restart()
      const restartedAt = Date.now()
      const delivered = await receiver.next((r) => isOurs(r) && r.status === 200)
      expect(delivered.at).toBeGreaterThan(restartedAt)
      expect(Number(delivered.headers['darkroom-delivery-attempt'])).toBe(2)
      expect(
        verifyWebhookSignature(
          secret,
          delivered.body,
          delivered.headers['darkroom-signature'] as string,
        ),
      ).toBe(true)
      const ids = receiver.received.filter(isOurs).map((r) => eventOf(r).id)
      expect(new Set(ids).size).toBe(1)
    } finally {
      await server.close()
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
