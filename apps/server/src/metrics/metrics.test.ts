import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeJpeg } from '@darkroom/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LOOPBACK_WEBHOOKS, startServer, uploadForm, type TestServer } from '../testing/harness.js'
import { createTestSchema, postgresUnreachable, type TestSchema } from '../testing/postgres.js'
import { startTusUpload } from '../testing/tus-upload.js'

/**
 * `/metrics` over a real server: who may read it (admin key on the main port, anyone on
 * `METRICS_PORT`, nobody with `METRICS=false`) and what it counts after real requests:
 * routes and statuses, upload bytes (tus and tRPC form), ingest, the transform cache, the
 * engine's CPU queue and the job queues (webhook outbox on SQLite, pg-boss on Postgres).
 */

/** The value of one sample, e.g. `value(text, 'x_total', { route: 'files' })`; null if absent. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    )
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3])
  }
  return null
}

/** Every `route` label value in the text. */
function routes(text: string): Set<string> {
  return new Set([...text.matchAll(/route="([^"]*)"/g)].map((m) => m[1]!))
}

async function scrape(url: string, key?: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
  })
  expect(res.status).toBe(200)
  return res.text()
}

describe('/metrics on the main port', () => {
  let server: TestServer
  let admin: string
  let alice: string
  let gallery: string

  beforeAll(async () => {
    gallery = await mkdtemp(join(tmpdir(), 'darkroom-metrics-web-'))
    await writeFile(join(gallery, 'index.html'), '<!doctype html><title>gallery</title>')
    // No timers: the webhook outbox keeps what is enqueued, for the depth gauge.
    server = await startServer({
      env: { ...LOOPBACK_WEBHOOKS, GALLERY_DIR: gallery },
      compose: { timers: false },
    })
    admin = await server.key('ops', ['admin'])
    alice = await server.key('alice')
  })
  afterAll(async () => {
    await server.close()
    await rm(gallery, { recursive: true, force: true })
  })

  it('answers only to an admin key', async () => {
    const none = await fetch(`${server.url}/metrics`)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer')
    const user = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${alice}` },
    })
    expect(user.status).toBe(403)
    const res = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${admin}` },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-store')
    const text = await res.text()
    // prom-client's default process metrics are there too.
    expect(value(text, 'process_resident_memory_bytes')).toBeGreaterThan(0)
    expect(value(text, 'nodejs_eventloop_lag_seconds')).not.toBeNull()
    expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405)
  })

  it('counts requests by route label and status, never by raw path', async () => {
    const client = server.client(alice)
    const { uploaded } = await client.photos.upload.mutate(
      uploadForm([{ name: 'a.jpg', data: await makeJpeg({ width: 320, height: 200, seed: 7 }) }]),
    )
    const id = uploaded[0]!.id
    await client.albums.list.query()
    await Promise.all([client.albums.list.query(), client.photos.list.query({})])
    await fetch(`${server.url}/trpc/albums.list`)
    await fetch(`${server.url}/trpc/no.such.procedure`)
    await fetch(`${server.url}/image/${id}.jpg?w=64`)
    await fetch(`${server.url}/photos/${id}/small.webp`)
    await fetch(`${server.url}/healthz`)
    await fetch(`${server.url}/some/gallery/page`, { headers: { accept: 'text/html' } })
    await fetch(`${server.url}/assets/missing-1234.js`)
    await fetch(`${server.url}/whatever`, { method: 'DELETE' })

    const text = await scrape(server.url, admin)
    const count = (route: string, method: string, status: string) =>
      value(text, 'darkroom_http_requests_total', { route, method, status })
    expect(count('photos.upload', 'POST', '200')).toBe(1)
    expect(count('albums.list', 'GET', '200')).toBeGreaterThanOrEqual(1)
    expect(count('albums.list', 'GET', '401')).toBe(1)
    // A batch of two procedures is one request labelled `trpc`; each call is counted apart.
    expect(count('trpc', 'GET', '200')).toBe(1)
    expect(value(text, 'darkroom_trpc_calls_total', { procedure: 'photos.list' })).toBe(1)
    expect(count('unknown', 'GET', '404')).toBe(1)
    expect(count('image', 'GET', '404')).toBe(1)
    expect(count('photos', 'GET', '404')).toBe(1)
    expect(count('healthz', 'GET', '200')).toBe(1)
    expect(count('gallery', 'GET', '404')).toBe(1)
    expect(count('gallery', 'GET', '200')).toBe(1)
    expect(count('unknown', 'DELETE', '404')).toBe(1)
    expect(count('metrics', 'GET', '200')).toBeGreaterThanOrEqual(1)
    expect(
      value(text, 'darkroom_http_request_duration_seconds_count', {
        route: 'photos.upload',
        method: 'POST',
      }),
    ).toBe(1)
    for (const route of routes(text)) {
      expect(route).not.toContain(id)
      expect(route).toMatch(/^(trpc|unknown|[a-z]+(\.[A-Za-z]+)?)$/)
    }
  })

  it('counts upload bytes per transport, ingest, and the transform cache', async () => {
    const before = await scrape(server.url, admin)
    const form = uploadForm([
      { name: 'b.jpg', data: await makeJpeg({ width: 600, height: 400, seed: 8 }) },
      { name: 'b-copy.jpg', data: await makeJpeg({ width: 600, height: 400, seed: 8 }) },
    ])
    const formBytes = (await new Response(form).arrayBuffer()).byteLength
    const { uploaded } = await server.client(alice).photos.upload.mutate(form)
    const photo = await makeJpeg({ width: 900, height: 600, seed: 9 })
    const tus = await startTusUpload({ url: server.url, key: alice }, photo, { chunkSize: 20_000 })
      .done
    expect(tus.photoId).toBeTruthy()
    const image = `${server.url}/image/${uploaded[0]!.id}.jpg?w=100`
    const auth = { authorization: `Bearer ${alice}` }
    expect((await fetch(image, { headers: auth })).headers.get('x-cache')).toBe('MISS')
    expect((await fetch(image, { headers: auth })).headers.get('x-cache')).toBe('HIT')

    const after = await scrape(server.url, admin)
    const delta = (name: string, labels: Record<string, string>) =>
      (value(after, name, labels) ?? 0) - (value(before, name, labels) ?? 0)
    // The multipart body's boundary framing may differ by a few bytes from a re-encoding.
    expect(delta('darkroom_upload_bytes_total', { via: 'trpc' })).toBeGreaterThanOrEqual(
      formBytes - 200,
    )
    expect(delta('darkroom_upload_bytes_total', { via: 'trpc' })).toBeLessThanOrEqual(
      formBytes + 200,
    )
    expect(delta('darkroom_upload_bytes_total', { via: 'tus' })).toBe(photo.byteLength)
    expect(delta('darkroom_ingest_duration_seconds_count', { outcome: 'ok' })).toBe(2)
    expect(delta('darkroom_ingest_duration_seconds_sum', { outcome: 'ok' })).toBeGreaterThan(0)
    expect(delta('darkroom_ingest_files_total', { result: 'uploaded' })).toBe(2)
    expect(delta('darkroom_ingest_files_total', { result: 'skipped' })).toBe(1)
    expect(delta('darkroom_image_cache_total', { result: 'miss' })).toBe(1)
    expect(delta('darkroom_image_cache_total', { result: 'hit' })).toBe(1)
    expect(
      delta('darkroom_http_requests_total', { route: 'files', method: 'PATCH', status: '204' }),
    ).toBe(Math.ceil(photo.byteLength / 20_000))
  })

  it('reports the engine CPU queue and the webhook outbox depth', async () => {
    await server.client(admin).webhooks.create.mutate({ url: 'http://127.0.0.1:9/hook' })
    // The webhook is the admin's; so is this photo's event.
    await server
      .client(admin)
      .photos.upload.mutate(
        uploadForm([{ name: 'c.jpg', data: await makeJpeg({ width: 100, height: 80, seed: 10 }) }]),
      )
    const text = await scrape(server.url, admin)
    expect(value(text, 'darkroom_engine_cpu_active')).toBe(0)
    expect(value(text, 'darkroom_engine_cpu_waiting')).toBe(0)
    expect(value(text, 'darkroom_engine_cpu_slots')).toBeGreaterThanOrEqual(1)
    expect(value(text, 'darkroom_webhook_deliveries_pending')).toBe(1)
    // SQLite: no pg-boss, no job queue samples.
    expect(value(text, 'darkroom_jobs_pending')).toBeNull()
  })
})

describe('METRICS_PORT and METRICS=false', () => {
  it('serves /metrics without a key on its own listener, and only that', async () => {
    const server = await startServer({ env: { METRICS_PORT: '0' } })
    try {
      const url = server.app.metricsUrl
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(url).not.toBe(server.url)
      const text = await scrape(url!)
      expect(value(text, 'darkroom_engine_cpu_slots')).toBeGreaterThanOrEqual(1)
      expect((await fetch(`${url}/trpc/albums.list`)).status).toBe(404)
      expect((await fetch(`${url}/`)).status).toBe(404)
      // The main port still wants the admin key.
      expect((await fetch(`${server.url}/metrics`)).status).toBe(401)
    } finally {
      await server.close()
    }
  })

  it('with METRICS=false, collects nothing and says so at /metrics', async () => {
    const server = await startServer({ env: { METRICS: 'false' } })
    try {
      expect(server.app.metrics).toBeNull()
      const admin = await server.key('ops', ['admin'])
      const res = await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${admin}` },
      })
      expect(res.status).toBe(404)
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
        'METRICS=false',
      )
    } finally {
      await server.close()
    }
  })
})

const unreachable = await postgresUnreachable()

describe.skipIf(unreachable !== null)('/metrics on Postgres', () => {
  let schema: TestSchema
  let server: TestServer

  beforeAll(async () => {
    schema = await createTestSchema('metrics')
    server = await startServer({ env: { ...schema.env, METRICS_PORT: '0' } })
  })
  afterAll(async () => {
    await server?.close()
    await schema?.drop()
  })

  it('reports the pg-boss queues and the outbox', async () => {
    const text = await scrape(server.app.metricsUrl!)
    for (const queue of [
      'darkroom-webhooks',
      'darkroom-purge-pending',
      'darkroom-purge-trash',
      'darkroom-upload-cleanup',
      'darkroom-orphan-sweep',
    ]) {
      expect(value(text, 'darkroom_jobs_pending', { queue }), queue).toBeGreaterThanOrEqual(0)
    }
    expect(value(text, 'darkroom_webhook_deliveries_pending')).toBe(0)
  })
})
