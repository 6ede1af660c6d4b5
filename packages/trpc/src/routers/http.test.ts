import { fetchRequestHandler } from '@trpc/server/adapters/fetch'
import { describe, expect, it } from 'vitest'
import { createApiKey } from '../records/api-keys.js'
import { createContext } from '../context.js'
import { jpeg, makeHarness, uploadForm } from '../internal/harness.test-utils.js'

// Through tRPC's fetch adapter, as the server mounts it: real multipart parsing, real statuses.
async function setup() {
  const h = await makeHarness()
  const { key } = await createApiKey(h.serverStore, {
    ownerId: 'alice',
    name: 'http',
    scopes: ['photos.read', 'photos.write'],
  })
  const send = (path: string, init: RequestInit = {}, auth = true) =>
    fetchRequestHandler({
      endpoint: '/trpc',
      router: h.router,
      createContext,
      req: new Request(`http://localhost/trpc/${path}`, {
        ...init,
        headers: { ...(auth ? { authorization: `Bearer ${key}` } : {}), ...init.headers },
      }),
    })
  return { h, send }
}

describe('over HTTP (fetch adapter)', () => {
  it('photos.upload takes multipart/form-data', async () => {
    const { send } = await setup()
    const form = uploadForm(
      [
        { name: 'a.jpg', bytes: await jpeg() },
        { name: 'b.jpg', bytes: await jpeg() },
      ],
      { category: 'party', pending: '0' },
    )
    const response = await send('photos.upload', { method: 'POST', body: form })
    expect(response.status).toBe(200)
    const body = (await response.json()) as { result: { data: { uploaded: unknown[] } } }
    expect(body.result.data.uploaded).toHaveLength(2)
    expect(body.result.data.uploaded[0]).toMatchObject({ ownerId: 'alice', category: 'party' })
  })

  it('answers 422 with violations, 401 without a key, 404 for someone else’s photo', async () => {
    const { send } = await setup()
    const invalid = await send(`photos.list?input=${encodeURIComponent('{"limit":0}')}`)
    expect(invalid.status).toBe(422)
    const body = (await invalid.json()) as { error: { message: string; data: unknown } }
    expect(body.error.data).toEqual({
      code: 'UNPROCESSABLE_CONTENT',
      httpStatus: 422,
      path: 'photos.list',
      darkroom: {
        code: 'VALIDATION',
        violations: [
          {
            property: 'limit',
            message: 'The limit is a whole number from 1 to 200.',
            reason: 'too_small',
          },
        ],
        cap: null,
      },
    })
    expect(JSON.stringify(body)).not.toContain('stack')

    expect((await send('albums.list', {}, false)).status).toBe(401)
    const missing = await send(`photos.get?input=${encodeURIComponent('{"id":"nope"}')}`)
    expect(missing.status).toBe(404)
  })

  it('batches JSON calls (one key lookup per request)', async () => {
    const { send } = await setup()
    const response = await send('albums.list,keys.list?batch=1&input=%7B%7D')
    expect(response.status).toBe(200)
    const body = (await response.json()) as Array<{ result: { data: unknown[] } }>
    expect(body.map((r) => r.result.data.length)).toEqual([0, 1])
  })
})
