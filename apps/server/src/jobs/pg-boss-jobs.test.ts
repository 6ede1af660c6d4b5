import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Clock } from '@darkroom/core'
import { makeJpeg } from '@darkroom/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestSchema, postgresUnreachable, type TestSchema } from '../testing/postgres.js'
import { LOOPBACK_WEBHOOKS, startServer, uploadForm, type TestServer } from '../testing/harness.js'
import { cronEvery, QUEUES } from './pg-boss-jobs.js'

/**
 * Two servers (two stores, two pg-boss instances, two webhook workers) on one Postgres schema,
 * in this process: the database sees two independent clients, as with two processes (the
 * two-process test with real processes is multiprocess/scale.test.ts).
 */
const unreachable = await postgresUnreachable()
if (unreachable) console.warn(`pg-boss job tests skipped: Postgres unreachable (${unreachable}).`)

class Receiver {
  server!: Server
  url = ''
  received: { eventId: string; status: number }[] = []
  /** Statuses to answer, in order; 200 once they run out. */
  script: number[] = []

  async start() {
    this.server = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        const status = this.script.shift() ?? 200
        this.received.push({ eventId: String(req.headers['darkroom-event-id']), status })
        res.writeHead(status).end()
      })
    })
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`
  }

  close() {
    this.server.closeAllConnections()
    return new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 15_000, what = '') {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe.skipIf(unreachable !== null)('background jobs on pg-boss (Postgres)', () => {
  let db: TestSchema
  let a: TestServer
  let b: TestServer
  const receiver = new Receiver()
  let offsetMs = 0
  const clock: Clock = { now: () => new Date(Date.now() + offsetMs) }

  beforeAll(async () => {
    db = await createTestSchema('drjobs')
    await receiver.start()
    const env = {
      ...db.env,
      ...LOOPBACK_WEBHOOKS,
      WEBHOOK_RETRY_BASE_MS: '300',
      WEBHOOK_RETRY_MAX_MS: '600',
      WEBHOOK_POLL_MS: '500',
    }
    a = await startServer({ env, compose: { clock } })
    b = await startServer({ env, compose: { clock } })
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    await receiver.close()
    await db?.drop()
  })

  const deliveries = (status: string) =>
    db
      .query<{ n: number }>(
        `select count(*)::int as n from ${db.schema}.webhook_deliveries where status = $1`,
        [status],
      )
      .then((rows) => rows[0]!.n)

  it('sends each outbox delivery exactly once while both processes work the queue', async () => {
    const client = a.client(await a.key('jobs-owner'))
    await client.webhooks.create.mutate({ url: receiver.url, events: ['photo.uploaded'] })
    const files = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => ({
        name: `${i}.jpg`,
        data: await makeJpeg({ width: 24, height: 24, seed: 9000 + i }),
      })),
    )
    const { uploaded } = await client.photos.upload.mutate(uploadForm(files))
    expect(uploaded).toHaveLength(12)
    await until(async () => (await deliveries('delivered')) === 12, 15_000, '12 deliveries')
    // Give a duplicate, if there were one, the time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    const ids = receiver.received.map((r) => r.eventId)
    expect(ids).toHaveLength(12)
    expect(new Set(ids).size).toBe(12)
    expect(await deliveries('pending')).toBe(0)
  })

  it('retries a failed delivery from a job at its backoff time, not at the next cron minute', async () => {
    receiver.received = []
    receiver.script = [500]
    const client = b.client(await b.key('jobs-retry'))
    await client.webhooks.create.mutate({ url: receiver.url, events: ['photo.uploaded'] })
    const started = Date.now()
    await client.photos.upload.mutate(
      uploadForm([{ name: 'r.jpg', data: await makeJpeg({ width: 24, height: 24, seed: 9100 }) }]),
    )
    await until(() => receiver.received.some((r) => r.status === 200), 20_000, 'the retry')
    expect(receiver.received.map((r) => r.status)).toEqual([500, 200])
    expect(Date.now() - started).toBeLessThan(15_000)
  })

  it('schedules the maintenance queues in the database, and a purge job purges', async () => {
    const schedules = await db.query<{ name: string; cron: string }>(
      `select name, cron from ${db.schema}_jobs.schedule order by name`,
    )
    expect(schedules.map((s) => s.name).sort()).toEqual(Object.values(QUEUES).sort())
    const client = a.client(await a.key('jobs-purge'))
    const { uploaded } = await client.photos.upload.mutate(
      uploadForm([{ name: 'p.jpg', data: await makeJpeg({ width: 24, height: 24, seed: 9200 }) }], {
        pending: 'true',
      }),
    )
    const id = uploaded[0]!.id
    offsetMs = 25 * 3_600_000 // past the default 24 h TTL of pending photos
    b.app.jobs!.send(QUEUES.purgePending)
    await until(
      () =>
        client.photos.get.query({ id }).then(
          () => false,
          (error: { data?: { code?: string } }) => error.data?.code === 'NOT_FOUND',
        ),
      15_000,
      'the purge',
    )
    await until(async () => (await a.app.jobs!.pending(QUEUES.purgePending)) === 0, 5_000, 'done')
  })

  it('a trash purge job hard-deletes photos trashed longer than the retention', async () => {
    const client = b.client(await b.key('jobs-trash'))
    const { uploaded } = await client.photos.upload.mutate(
      uploadForm([{ name: 't.jpg', data: await makeJpeg({ width: 24, height: 24, seed: 9201 }) }]),
    )
    const id = uploaded[0]!.id
    await client.photos.delete.mutate({ id })
    offsetMs += 31 * 24 * 3_600_000 // past the default 30-day retention
    a.app.jobs!.send(QUEUES.purgeTrash)
    await until(
      async () => (await client.photos.list.query({ trashed: true })).total === 0,
      15_000,
      'the trash purge',
    )
    await until(async () => (await b.app.jobs!.pending(QUEUES.purgeTrash)) === 0, 5_000, 'done')
  })

  it('maps intervals to cron expressions', () => {
    expect(cronEvery(1_000)).toBe('* * * * *')
    expect(cronEvery(10 * 60_000)).toBe('*/10 * * * *')
    expect(cronEvery(60 * 60_000)).toBe('0 * * * *')
  })
})
