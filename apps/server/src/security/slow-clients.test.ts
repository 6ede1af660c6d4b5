import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeNoiseJpeg, startServer, type TestServer } from '../testing/harness.js'

/**
 * Slowloris and socket hoarding, the way an attacker sends them: raw sockets to the real
 * server. Headers or a body sent a byte at a time are cut off at their timeout; one address
 * cannot hold more sockets than its cap; a large upload at a normal speed goes through.
 */

let server: TestServer
let port: number
beforeAll(async () => {
  server = await startServer({
    env: {
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '2500',
      HTTP_MAX_CONNECTIONS_PER_IP: '20',
      MAX_FILE_MB: '64',
    },
  })
  port = Number(new URL(server.url).port)
})
afterAll(() => server?.close())

/** A raw socket; resolves with what the server sent and how long until it closed it. */
function open(): Promise<{ socket: Socket; closed: Promise<{ ms: number; received: string }> }> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const socket = connect(port, '127.0.0.1', () => {
      let received = ''
      socket.on('data', (chunk) => (received += chunk.toString('latin1')))
      const closed = new Promise<{ ms: number; received: string }>((done) =>
        socket.on('close', () => done({ ms: Date.now() - started, received })),
      )
      resolve({ socket, closed })
    })
    socket.on('error', () => undefined)
    socket.once('error', reject)
  })
}

/** Writes `text` one byte every `everyMs` until the socket closes. */
function dribble(socket: Socket, text: string, everyMs: number): void {
  let i = 0
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) return clearInterval(timer)
    socket.write(text[i++]!)
  }, everyMs)
  socket.on('close', () => clearInterval(timer))
}

describe('slow clients', () => {
  it('cuts off headers sent a byte at a time at the headers timeout', async () => {
    const { socket, closed } = await open()
    dribble(socket, `GET /healthz HTTP/1.1\r\nHost: x\r\n${'X-Slow: 1\r\n'.repeat(100)}\r\n`, 100)
    const { ms, received } = await closed
    expect(ms).toBeGreaterThanOrEqual(900)
    expect(ms).toBeLessThan(5_000)
    expect(received).toMatch(/^HTTP\/1\.1 408/)
  })

  it('cuts off a body sent a byte at a time at the request timeout', async () => {
    const { socket, closed } = await open()
    socket.write(
      'POST /trpc/photos.list HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n',
    )
    dribble(socket, '{'.repeat(100_000), 50)
    const { ms, received } = await closed
    expect(ms).toBeGreaterThanOrEqual(2_000)
    expect(ms).toBeLessThan(8_000)
    expect(received).toMatch(/408/)
  })

  it('closes sockets past the per-address cap at once, and serves again when they go', async () => {
    const held = await Promise.all(Array.from({ length: 20 }, () => open()))
    const extra = await open()
    const { ms } = await extra.closed
    expect(ms).toBeLessThan(1_000)
    for (const { socket } of held) socket.destroy()
    await Promise.all(held.map((h) => h.closed))
    const health = await fetch(`${server.url}/healthz`)
    expect(health.status).toBe(200)
  })

  it('lets a large upload at a normal speed through', async () => {
    const key = await server.key('alice')
    // ~30 MB of noise, sent as fast as the loopback takes it: well inside the 2.5 s limit.
    const data = await makeNoiseJpeg(3800, 2600, 5)
    const body = new FormData()
    body.append('files', new Blob([data], { type: 'image/jpeg' }), 'large.jpg')
    const response = await fetch(`${server.url}/trpc/photos.upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body,
    })
    expect(response.status).toBe(200)
    const result = (await response.json()) as { result: { data: { uploaded: unknown[] } } }
    expect(result.result.data.uploaded).toHaveLength(1)
  })
})
