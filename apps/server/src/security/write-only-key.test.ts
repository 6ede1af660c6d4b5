import { makeJpeg } from '@darkroom/core/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startServer, uploadForm, type TestServer } from '../testing/harness.js'

/**
 * A key with `photos.write` but not `photos.read` must not read photo data. Webhook deliveries
 * carry whole photos (EXIF, GPS, caption, filename), so subscribing needs `photos.read` too:
 * a write-only key's `webhooks.create` is 403 naming the scope, and no subscription is made.
 */

let server: TestServer
let writeOnly: string
let owner: string
beforeAll(async () => {
  server = await startServer({ env: { RATE_LIMIT_UPLOADS_PER_MINUTE: '0' } })
  writeOnly = await server.key('alice', ['photos.write'])
  owner = await server.key('alice')
  await server
    .client(owner)
    .photos.upload.mutate(
      uploadForm([{ name: 'gps.jpg', data: await makeJpeg({ width: 32, height: 24, seed: 41 }) }]),
    )
})
afterAll(() => server?.close())

it('a write-only key cannot subscribe a webhook, which would deliver photo data', async () => {
  const res = await fetch(`${server.url}/trpc/webhooks.create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${writeOnly}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: 'https://hooks.example.com/steal' }),
  })
  expect(res.status).toBe(403)
  const body = JSON.stringify(await res.json())
  expect(body).toMatch(/needs the \\"photos.read\\" scope/)
  expect(body).not.toMatch(/gps\.jpg|exif/i)
  expect(await server.client(owner).webhooks.list.query()).toEqual([])
  // A key with both scopes still subscribes.
  await server.client(owner).webhooks.create.mutate({ url: 'https://hooks.example.com/mine' })
})
