import { request, type ClientRequest, type IncomingMessage } from 'node:http'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeJpeg } from '@darkroom/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServerProcess, type ServerProcess } from '../testing/processes.js'

/**
 * The global budget of request bodies in flight (`HTTP_MAX_INFLIGHT_BODY_MB`), against a server
 * process: anonymous guests open many large multipart uploads at once and send them slowly.
 * Those that fit in the budget are taken in (spooled to temporary files); the rest are refused
 * with 503 and `Retry-After` before a byte of their body is read. The temporary files never
 * hold more than the budget, the server's memory stays flat, and once the first uploads finish
 * a new one goes through.
 */

const MB = 1024 * 1024
const BUDGET_MB = 24
const FILE_BYTES = 8 * MB
const CLIENTS = 8

let server: ServerProcess
let dataDir: string

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'darkroom-body-budget-'))
  server = await startServerProcess({
    DATA_DIR: dataDir,
    GUEST_UPLOADS: 'true',
    RATE_LIMIT_UPLOADS_PER_MINUTE: '0',
    HTTP_MAX_INFLIGHT_BODY_MB: String(BUDGET_MB),
  })
}, 60_000)
afterAll(async () => {
  await server?.stop()
  await rm(dataDir, { recursive: true, force: true })
})

/** A multipart body with one file part of `size` bytes of noise, split where the file starts. */
function multipart(size: number) {
  const boundary = `----budget${Math.random().toString(16).slice(2)}`
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.jpg"\r\n` +
      'Content-Type: image/jpeg\r\n\r\n',
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  return { boundary, head, tail, length: head.length + size + tail.length }
}

/** A request whose headers are sent and whose body is written by the test, at its own pace. */
function openUpload(path: string, size: number) {
  const form = multipart(size)
  const url = new URL(path, server.url)
  const req: ClientRequest = request(url, {
    method: 'POST',
    headers: {
      'content-type': `multipart/form-data; boundary=${form.boundary}`,
      'content-length': String(form.length),
    },
  })
  req.on('error', () => undefined)
  const answered = new Promise<{
    status: number
    headers: IncomingMessage['headers']
    body: string
  }>((resolve) => {
    req.on('response', (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
  })
  req.flushHeaders()
  let answer: { status: number } | null = null
  void answered.then((a) => (answer = a))
  const noise = Buffer.alloc(MB, 0x5a)
  return {
    answered,
    get answer() {
      return answer
    },
    /** Writes the part's header and `bytes` of the file. */
    async send(bytes: number) {
      req.write(form.head)
      for (let sent = 0; sent < bytes; sent += MB) {
        if (!req.write(noise.subarray(0, Math.min(MB, bytes - sent)))) {
          await new Promise((resolve) => req.once('drain', resolve))
        }
      }
    },
    /** The rest of the file after `from` bytes, and the end of the form. */
    async finish(from: number) {
      for (let sent = from; sent < size; sent += MB) {
        req.write(noise.subarray(0, Math.min(MB, size - sent)))
      }
      req.end(form.tail)
      return answered
    },
  }
}

async function spooledBytes(): Promise<number> {
  const dir = join(dataDir, 'tmp')
  const names = await readdir(dir).catch(() => [] as string[])
  let total = 0
  for (const name of names) total += (await stat(join(dir, name)).catch(() => null))?.size ?? 0
  return total
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('the budget of request bodies in flight', () => {
  it('takes in what fits, refuses the rest unread with 503, and lets later uploads in', async () => {
    const pid = server.child.pid!
    const rssBefore = await rssOf(pid)
    const paths = ['/trpc/photos.upload', '/api/darkroom/v1/photos']
    const uploads = Array.from({ length: CLIENTS }, (_, i) => openUpload(paths[i % 2]!, FILE_BYTES))
    // Headers only: the refused get their answer without having sent a byte of body.
    await sleep(500)
    const refused = uploads.filter((u) => u.answer !== null)
    const admitted = uploads.filter((u) => u.answer === null)
    const fits = Math.floor((BUDGET_MB * MB) / multipart(FILE_BYTES).length)
    expect(admitted).toHaveLength(fits)
    expect(refused).toHaveLength(CLIENTS - fits)
    for (const u of refused) {
      const answer = await u.answered
      expect(answer.status).toBe(503)
      expect(answer.headers['retry-after']).toBe('1')
      // tRPC's error shape, or the REST twin's.
      const { error } = JSON.parse(answer.body) as { error: { code: unknown; data?: unknown } }
      expect(error.data ?? error).toMatchObject({ code: 'SERVICE_UNAVAILABLE' })
      expect(JSON.stringify(error)).toContain('request bodies as it holds at once (24 MB)')
    }

    // The admitted send most of their bodies; the server spools them and holds no more.
    const partial = FILE_BYTES - 2 * MB
    await Promise.all(admitted.map((u) => u.send(partial)))
    let spooled = 0
    let peakRss = 0
    for (let i = 0; i < 100 && spooled < admitted.length * partial; i++) {
      await sleep(50)
      spooled = await spooledBytes()
      peakRss = Math.max(peakRss, await rssOf(pid))
    }
    expect(spooled).toBe(admitted.length * partial)
    expect(spooled).toBeLessThanOrEqual(BUDGET_MB * MB)
    // Spooled to disk, not held: the server's memory grows far less than the bodies' bytes.
    expect(peakRss - rssBefore).toBeLessThan(64 * MB)

    // While they are held, one more is refused; once they are answered, a new upload goes in.
    const extra = openUpload('/trpc/photos.upload', FILE_BYTES)
    expect((await extra.answered).status).toBe(503)
    const finished = await Promise.all(admitted.map((u) => u.finish(partial)))
    for (const answer of finished) expect(answer.status).not.toBe(503)
    expect(await spooledBytes()).toBe(0)

    const jpeg = await makeJpeg({ width: 64, height: 48, seed: 4242 })
    const form = new FormData()
    form.append('files', new File([new Uint8Array(jpeg)], 'ok.jpg', { type: 'image/jpeg' }))
    const later = await fetch(`${server.url}/trpc/photos.upload`, { method: 'POST', body: form })
    expect(later.status).toBe(200)
    expect(
      ((await later.json()) as { result: { data: { uploaded: unknown[] } } }).result.data,
    ).toMatchObject({ uploaded: [expect.anything()] })
  }, 60_000)

  it('refuses a body larger than the whole budget with 413, unread', async () => {
    const upload = openUpload('/trpc/photos.upload', (BUDGET_MB + 1) * MB)
    const unanswered = sleep(5_000).then(() => ({ status: 0, body: '{}' }))
    const answer = await Promise.race([upload.answered, unanswered])
    expect(answer.status).toBe(413)
    expect(JSON.parse(answer.body).error.message).toMatch(/over the 24 MB the server takes in/)
  })
})
