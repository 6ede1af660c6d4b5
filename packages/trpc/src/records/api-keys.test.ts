import { DarkroomError, type Caller } from '@darkroom/core'
import { asPhoto, makeCaller, MemoryServerStore } from '@darkroom/core/testing'
import { describe, expect, it, vi } from 'vitest'
import { createContext } from '../context.js'
import { failure, jpeg, makeHarness, uploadForm } from '../internal/harness.test-utils.js'
import { createAppRouter } from '../routers/app.js'
import { createCallerFactory } from '../trpc.js'
import { apiKeyAuthenticator, bearerToken, combineAuthenticators } from './api-key-authenticator.js'
import { createApiKey, generateApiKey, hashApiKey, isApiKeyShaped } from './api-keys.js'

describe('keys.create / list / revoke', () => {
  it('returns the key once, sk_ and 40 base62 characters; stores only its hash', async () => {
    const h = await makeHarness()
    const created = await h.alice.keys.create({ name: 'laptop', scopes: ['photos.read'] })
    expect(created.key).toMatch(/^sk_[0-9A-Za-z]{40}$/)
    expect(created.apiKey).toEqual({
      id: expect.any(String),
      ownerId: 'alice',
      name: 'laptop',
      prefix: created.key.slice(0, 7),
      scopes: ['photos.read'],
      createdAt: h.clock.now().toISOString(),
      lastUsedAt: null,
      revokedAt: null,
    })
    expect(JSON.stringify(created.apiKey)).not.toContain(hashApiKey(created.key))
    const stored = await h.serverStore.findApiKeyByHash(hashApiKey(created.key))
    expect(stored?.id).toBe(created.apiKey.id)
    const listed = await h.alice.keys.list()
    expect(listed).toEqual([created.apiKey])
    expect(JSON.stringify(listed)).not.toMatch(/sk_[0-9A-Za-z]{40}|hash/)
    expect(await h.bob.keys.list()).toEqual([])
  })

  it('grants only scopes the caller holds; an admin grants any, to any owner', async () => {
    const h = await makeHarness()
    const reader = h.as(makeCaller('alice', ['photos.read']))
    const tooMuch = await failure(h, reader.keys.create({ name: 'x', scopes: ['photos.write'] }))
    expect(tooMuch.error.code).toBe('FORBIDDEN')
    const escalate = await failure(h, h.alice.keys.create({ name: 'x', scopes: ['admin'] }))
    expect(escalate.error.code).toBe('FORBIDDEN')
    const forBob = await failure(
      h,
      h.alice.keys.create({ name: 'x', scopes: ['photos.read'], ownerId: 'bob' }),
    )
    expect(forBob.error.code).toBe('FORBIDDEN')
    const byAdmin = await h.admin.keys.create({
      name: 'for bob',
      scopes: ['photos.read', 'photos.write', 'admin'],
      ownerId: 'bob',
    })
    expect(byAdmin.apiKey).toMatchObject({
      ownerId: 'bob',
      scopes: ['photos.read', 'photos.write', 'admin'],
    })
    const unknown = await failure(h, h.admin.keys.create({ name: 'x', scopes: ['root' as never] }))
    expect(unknown.error.code).toBe('UNPROCESSABLE_CONTENT')
    expect(unknown.shape.data.darkroom?.violations[0]?.property).toBe('scopes[0]')
  })

  it('revoke: own key only (someone else’s is NOT_FOUND); idempotent', async () => {
    const h = await makeHarness()
    const { apiKey } = await h.alice.keys.create({ name: 'k', scopes: ['photos.read'] })
    expect((await failure(h, h.bob.keys.revoke({ id: apiKey.id }))).error.code).toBe('NOT_FOUND')
    const revoked = await h.alice.keys.revoke({ id: apiKey.id })
    expect(revoked.revokedAt).toBe(h.clock.now().toISOString())
    h.clock.advance(1000)
    expect((await h.alice.keys.revoke({ id: apiKey.id })).revokedAt).toBe(revoked.revokedAt)
  })

  it('createApiKey (CLI, first start) validates and stores hashed', async () => {
    const store = new MemoryServerStore()
    const { key, apiKey } = await createApiKey(store, {
      ownerId: 'admin',
      name: 'first start',
      scopes: ['admin'],
    })
    expect(isApiKeyShaped(key)).toBe(true)
    expect(apiKey).not.toHaveProperty('hash')
    expect(await store.countApiKeys()).toBe(1)
    await expect(createApiKey(store, { ownerId: '', name: ' ', scopes: [] })).rejects.toMatchObject(
      {
        code: 'VALIDATION',
        violations: [
          expect.objectContaining({ property: 'ownerId' }),
          expect.objectContaining({ property: 'name' }),
          expect.objectContaining({ property: 'scopes' }),
        ],
      },
    )
  })

  it('generated keys are distinct', () => {
    const keys = new Set(Array.from({ length: 200 }, generateApiKey))
    expect(keys.size).toBe(200)
  })
})

describe('Authorization: Bearer sk_...', () => {
  async function withKey(scopes: ('photos.read' | 'photos.write' | 'admin')[]) {
    const h = await makeHarness()
    const { key, apiKey } = await createApiKey(h.serverStore, {
      ownerId: 'alice',
      name: 'k',
      scopes,
    })
    return { h, key, apiKey }
  }

  it('a valid key acts as its owner with its scopes, and touches lastUsedAt', async () => {
    const { h, key, apiKey } = await withKey(['photos.read', 'photos.write'])
    const client = h.bearer(key)
    const album = await client.albums.create({ title: 'Via key' })
    expect(album.ownerId).toBe('alice')
    const { uploaded } = await client.photos.upload(
      uploadForm([{ name: 'a.jpg', bytes: await jpeg() }]),
    )
    expect(asPhoto(uploaded[0]!).ownerId).toBe('alice')
    const stored = (await h.serverStore.listApiKeys('alice')).find((k) => k.id === apiKey.id)
    expect(stored?.lastUsedAt).toEqual(h.clock.now())
  })

  it('a read-only key cannot write: FORBIDDEN', async () => {
    const { h, key } = await withKey(['photos.read'])
    const client = h.bearer(key)
    expect(await client.photos.list()).toMatchObject({ total: 0 })
    const { error, shape } = await failure(h, client.albums.create({ title: 'x' }))
    expect(error.code).toBe('FORBIDDEN')
    expect(shape.data.httpStatus).toBe(403)
    const upload = await failure(
      h,
      client.photos.upload(uploadForm([{ name: 'a.jpg', bytes: await jpeg() }])),
    )
    expect(upload.error.code).toBe('FORBIDDEN')
  })

  it('no key: UNAUTHORIZED', async () => {
    const h = await makeHarness()
    expect((await failure(h, h.withHeaders({}).photos.list())).error.code).toBe('UNAUTHORIZED')
  })

  it('a revoked key: UNAUTHORIZED, even where guests may upload', async () => {
    const h = await makeHarness({ guestUploads: { ownerId: 'guests' } })
    const { key, apiKey } = await createApiKey(h.serverStore, {
      ownerId: 'alice',
      name: 'k',
      scopes: ['photos.write'],
    })
    await h.serverStore.revokeApiKey(apiKey.id, h.clock.now())
    const client = h.bearer(key)
    const list = await failure(h, client.photos.list())
    expect(list.error.code).toBe('UNAUTHORIZED')
    expect(list.shape.message).toContain('revoked')
    const upload = await failure(
      h,
      client.photos.upload(uploadForm([{ name: 'a.jpg', bytes: await jpeg() }])),
    )
    expect(upload.error.code).toBe('UNAUTHORIZED')
  })

  it('an unknown key: UNAUTHORIZED', async () => {
    const h = await makeHarness()
    const { error, shape } = await failure(h, h.bearer(generateApiKey()).photos.list())
    expect(error.code).toBe('UNAUTHORIZED')
    expect(shape.message).toBe('The API key is not valid.')
  })

  it('authenticates once per request, however many calls it carries', async () => {
    const serverStore = new MemoryServerStore()
    const { key } = await createApiKey(serverStore, {
      ownerId: 'alice',
      name: 'k',
      scopes: ['photos.read'],
    })
    const find = vi.spyOn(serverStore, 'findApiKeyByHash')
    const h = await makeHarness({ serverStore })
    const ctx = createContext({ req: { headers: { authorization: `Bearer ${key}` } } })
    const caller = createCallerFactory(h.router)(ctx)
    await Promise.all([caller.photos.list(), caller.albums.list(), caller.keys.list()])
    expect(find).toHaveBeenCalledTimes(1)
  })

  it('lastUsedAt is written at most once per interval', async () => {
    const serverStore = new MemoryServerStore()
    const { key } = await createApiKey(serverStore, { ownerId: 'a', name: 'k', scopes: ['admin'] })
    const touch = vi.spyOn(serverStore, 'touchApiKey')
    let now = 0
    const authenticate = apiKeyAuthenticator(serverStore, {
      clock: { now: () => new Date(now) },
      touchIntervalMs: 1000,
    })
    const headers = new Headers({ authorization: `Bearer ${key}` })
    await authenticate({ headers })
    now = 500
    await authenticate({ headers })
    now = 1000
    expect(await authenticate({ headers })).toEqual({ ownerId: 'a', scopes: ['admin'] })
    expect(touch).toHaveBeenCalledTimes(2)
  })

  it('bearerToken reads only the Bearer scheme', () => {
    const token = (value: string) => bearerToken(new Headers({ authorization: value }))
    expect(token('Bearer sk_abc')).toBe('sk_abc')
    expect(token('bearer   sk_abc ')).toBe('sk_abc')
    expect(token('Basic dXNlcjpwYXNz')).toBeNull()
    expect(token('Bearer a b')).toBeNull()
    expect(bearerToken(new Headers())).toBeNull()
  })
})

describe('plugging an app’s own authentication in', () => {
  // A stand-in for a session or JWT check: `Bearer jwt:<owner>`.
  const jwt = async ({ headers }: { headers: Headers }): Promise<Caller | null> => {
    const token = bearerToken(headers)
    if (!token?.startsWith('jwt:')) return null
    if (token === 'jwt:expired') throw new DarkroomError('UNAUTHORIZED', 'The session expired.')
    return { ownerId: token.slice(4), scopes: ['photos.read', 'photos.write'] }
  }

  it('a custom hook replaces API keys; combineAuthenticators keeps both', async () => {
    const h = await makeHarness()
    const serverStore = h.serverStore
    const { key } = await createApiKey(serverStore, {
      ownerId: 'bob',
      name: 'k',
      scopes: ['photos.read'],
    })
    const router = createAppRouter(h.darkroom, {
      serverStore,
      authenticate: combineAuthenticators(jwt, apiKeyAuthenticator(serverStore)),
    })
    const call = (authorization: string) =>
      createCallerFactory(router)(
        createContext({ req: { headers: new Headers({ authorization }) } }),
      )
    expect((await call('Bearer jwt:carol').albums.create({ title: 'T' })).ownerId).toBe('carol')
    expect(await call(`Bearer ${key}`).albums.list()).toEqual([])
    await expect(call('Bearer jwt:expired').albums.list()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'The session expired.',
    })

    const jwtOnly = createAppRouter(h.darkroom, { serverStore, authenticate: jwt })
    const withKey = createCallerFactory(jwtOnly)(
      createContext({ req: { headers: new Headers({ authorization: `Bearer ${key}` }) } }),
    )
    await expect(withKey.albums.list()).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
  })

  it('createContext takes Node’s header object as well as Headers', () => {
    const ctx = createContext({
      req: { headers: { authorization: 'Bearer sk_x', 'x-many': ['a', 'b'] } },
    })
    expect(ctx.headers?.get('authorization')).toBe('Bearer sk_x')
    expect(ctx.headers?.get('x-many')).toBe('a, b')
  })
})
