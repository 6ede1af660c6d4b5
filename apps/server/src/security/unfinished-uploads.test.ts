import { afterAll, beforeAll, expect, it } from 'vitest'
import { startServer, type TestServer } from '../testing/harness.js'

/**
 * Unfinished tus uploads hold disk until they finish or expire: one owner holds at most
 * `UPLOADS_MAX_UNFINISHED` of them (partial uploads of a concatenation count too) and at most
 * `UPLOADS_MAX_UNFINISHED_MB` declared in all. Past either, a new one is refused at creation,
 * before a byte is sent; terminating one makes room again. Another owner has room of their own.
 */

let server: TestServer
let alice: string
let bob: string
beforeAll(async () => {
  server = await startServer({
    env: {
      UPLOADS_MAX_UNFINISHED: '3',
      UPLOADS_MAX_UNFINISHED_MB: '10',
      RATE_LIMIT_UPLOADS_PER_MINUTE: '0',
    },
  })
  alice = await server.key('alice')
  bob = await server.key('bob')
})
afterAll(() => server?.close())

function create(key: string, length: number, headers: Record<string, string> = {}) {
  return fetch(`${server.url}/files`, {
    method: 'POST',
    headers: {
      'Tus-Resumable': '1.0.0',
      authorization: `Bearer ${key}`,
      'Upload-Length': String(length),
      ...headers,
    },
  })
}

it('refuses a new upload past the count of unfinished ones, partial uploads included', async () => {
  const made = [
    await create(alice, 1000),
    await create(alice, 1000),
    await create(alice, 1000, { 'Upload-Concat': 'partial' }),
  ]
  expect(made.map((r) => r.status)).toEqual([201, 201, 201])
  const refused = await create(alice, 1000)
  expect(refused.status).toBe(400)
  const body = (await refused.json()) as { error: { code: string; cap: { name: string } } }
  expect(body.error).toMatchObject({
    code: 'CAP_EXCEEDED',
    cap: { name: 'unfinishedUploads', limit: 3 },
  })
  expect((await create(bob, 1000)).status).toBe(201)
  // Terminating one makes room.
  const terminated = await fetch(new URL(made[0]!.headers.get('location')!, server.url), {
    method: 'DELETE',
    headers: { 'Tus-Resumable': '1.0.0', authorization: `Bearer ${alice}` },
  })
  expect(terminated.status).toBe(204)
  expect((await create(alice, 1000)).status).toBe(201)
})

it('refuses a new upload past the bytes the unfinished ones declare', async () => {
  const first = await create(bob, 8 * 1024 * 1024)
  expect(first.status).toBe(201)
  const refused = await create(bob, 3 * 1024 * 1024)
  expect(refused.status).toBe(400)
  expect(await refused.text()).toMatch(/Unfinished uploads may declare at most 10485760 bytes/)
})
