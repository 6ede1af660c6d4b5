import { MemoryServerStore } from '@darkroom/core/testing'
import { describe, expect, it } from 'vitest'
import { createApiKey, hashApiKey } from './api-keys.js'
import {
  callerOfSession,
  createSession,
  createSignInCode,
  exchangeSignInCode,
  inspectSignInCode,
  revokeSessionToken,
  sessionAuthenticator,
  SESSION_TTL_MS,
  SIGN_IN_CODE_TTL_MS,
} from './sessions.js'

const T0 = new Date('2030-01-01T00:00:00.000Z')
const clockAt = (ms: number) => ({ now: () => new Date(T0.getTime() + ms) })

async function setUp() {
  const store = new MemoryServerStore()
  const { apiKey } = await createApiKey(store, {
    ownerId: 'alice',
    name: 'laptop',
    scopes: ['photos.read', 'photos.write'],
  })
  return { store, keyId: apiKey.id }
}

const bearer = (token: string) => ({ headers: new Headers({ authorization: `Bearer ${token}` }) })

describe('sign-in codes', () => {
  it('are sc_ and 32 base62, stored as sha256, inspected without being used, used once', async () => {
    const { store, keyId } = await setUp()
    const { code, ownerId } = await createSignInCode(store, { keyId }, { clock: clockAt(0) })
    expect(code).toMatch(/^sc_[0-9A-Za-z]{32}$/)
    expect(ownerId).toBe('alice')
    expect(await store.findSignInCodeByHash(hashApiKey(code))).toMatchObject({ usedAt: null })

    expect(await inspectSignInCode(store, code, { clock: clockAt(1) })).toMatchObject({
      ownerId: 'alice',
    })
    const { token, session } = await exchangeSignInCode(store, code, { clock: clockAt(2) })
    expect(token).toMatch(/^ds_[0-9A-Za-z]{40}$/)
    expect(session).toMatchObject({
      keyId,
      ownerId: 'alice',
      scopes: ['photos.read', 'photos.write'],
    })
    await expect(exchangeSignInCode(store, code, { clock: clockAt(3) })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    })
    await expect(inspectSignInCode(store, code, { clock: clockAt(3) })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    })
  })

  it('expire after 10 minutes, and die with their key', async () => {
    const { store, keyId } = await setUp()
    const late = await createSignInCode(store, { keyId }, { clock: clockAt(0) })
    await expect(
      exchangeSignInCode(store, late.code, { clock: clockAt(SIGN_IN_CODE_TTL_MS) }),
    ).rejects.toThrow(/10 minutes/)
    const revoked = await createSignInCode(store, { keyId }, { clock: clockAt(0) })
    await store.revokeApiKey(keyId, T0)
    await expect(exchangeSignInCode(store, revoked.code, { clock: clockAt(1) })).rejects.toThrow(
      /revoked/,
    )
    await expect(createSignInCode(store, { keyId })).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})

describe('sessions', () => {
  it('authenticate as their key until revoked, expired, or the key is revoked', async () => {
    const { store, keyId } = await setUp()
    const authenticate = sessionAuthenticator(store, { clock: clockAt(10) })
    const a = await createSession(
      store,
      { keyId, ownerId: 'alice', scopes: ['photos.read'] },
      { clock: clockAt(0) },
    )
    // The key's scopes, as they are now.
    expect(await authenticate(bearer(a.token))).toEqual({
      ownerId: 'alice',
      scopes: ['photos.read', 'photos.write'],
    })
    expect(await authenticate(bearer('sk_notASession'))).toBeNull()
    expect(await callerOfSession(store, a.token, { clock: clockAt(SESSION_TTL_MS) })).toBeNull()

    await revokeSessionToken(store, a.token, { clock: clockAt(5) })
    await expect(authenticate(bearer(a.token))).rejects.toMatchObject({ code: 'UNAUTHORIZED' })

    const b = await createSession(store, { keyId, ownerId: 'alice', scopes: [] })
    expect(await callerOfSession(store, b.token)).not.toBeNull()
    await store.revokeApiKey(keyId, T0)
    expect(await callerOfSession(store, b.token)).toBeNull()
  })

  it("of an app's own sign-in keep the owner and scopes given", async () => {
    const store = new MemoryServerStore()
    const { token } = await createSession(store, {
      keyId: null,
      ownerId: 'user-7',
      scopes: ['photos.read'],
    })
    expect(await callerOfSession(store, token)).toEqual({
      ownerId: 'user-7',
      scopes: ['photos.read'],
    })
  })
})
