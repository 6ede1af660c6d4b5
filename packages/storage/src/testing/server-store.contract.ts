import { createHash, randomUUID } from 'node:crypto'
import type {
  ApiKeyRecord,
  DarkroomEvent,
  DarkroomEventType,
  ServerStore,
  SessionRecord,
  SignInCodeRecord,
  UploadRecord,
  WebhookRecord,
} from '@darkroom/core'
import { afterEach, beforeEach, describe, expect } from 'vitest'
import { caseRunner, type ContractCapabilities } from './contract-helpers.js'

/**
 * The `ServerStore` contract: every adapter (memory, SQLite, Postgres) runs it. Each test works
 * under its own random owner and ids, so the suite also runs on a shared database and in any
 * order; `claimDueDeliveries` (global by nature) is checked with due times far in the past of
 * the test's own clock and on the test's own deliveries only.
 */
export interface ServerStoreContractOptions<S extends ServerStore = ServerStore> {
  name: string
  /** A fresh store, its schema up to date. */
  create: () => S | Promise<S>
  /** Disposes of the store. */
  cleanup?: (store: S) => void | Promise<void>
  capabilities?: ContractCapabilities
}

const T0 = new Date('2030-01-01T00:00:00.000Z')
const at = (ms: number) => new Date(T0.getTime() + ms)

export function describeServerStoreContract<S extends ServerStore>(
  options: ServerStoreContractOptions<S>,
): void {
  const { name, create, cleanup } = options
  const test = caseRunner(options.capabilities)

  describe(`ServerStore contract: ${name}`, () => {
    let store: S
    let ownerId: string

    beforeEach(async () => {
      store = await create()
      ownerId = `owner-${randomUUID()}`
    })

    afterEach(async () => {
      await cleanup?.(store)
    })

    const apiKey = (overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord => {
      const secret = `sk_${randomUUID().replaceAll('-', '')}`
      return {
        id: randomUUID(),
        ownerId,
        name: 'laptop',
        prefix: secret.slice(0, 7),
        hash: createHash('sha256').update(secret).digest('hex'),
        scopes: ['photos.read', 'photos.write'],
        createdAt: at(0),
        lastUsedAt: null,
        revokedAt: null,
        ...overrides,
      }
    }
    const webhook = (overrides: Partial<WebhookRecord> = {}): WebhookRecord => ({
      id: randomUUID(),
      ownerId,
      url: 'https://example.com/hook',
      secret: `whsec_${randomUUID()}`,
      events: [],
      createdAt: at(0),
      ...overrides,
    })
    const event = (
      type: DarkroomEventType = 'photo.uploaded',
      overrides: Partial<DarkroomEvent> = {},
    ): DarkroomEvent => ({
      id: randomUUID(),
      type,
      ownerId,
      occurredAt: T0.toISOString(),
      subjectId: randomUUID(),
      data: { photo: { id: 'p1', filename: 'Été.jpg', width: null }, changed: ['hidden'] },
      ...overrides,
    })
    const upload = (overrides: Partial<UploadRecord> = {}): UploadRecord => ({
      id: randomUUID().replaceAll('-', ''),
      ownerId,
      state: 'receiving',
      filename: 'IMG_0001.HEIC',
      size: 5_000_000_123,
      albumId: null,
      photoId: null,
      error: null,
      createdAt: at(0),
      updatedAt: at(0),
      ...overrides,
    })
    /** Enqueues one event for one new webhook (of an owner of its own); returns the delivery. */
    const oneDelivery = async (due = at(0)) => {
      const owner = `owner-${randomUUID()}`
      const hook = webhook({ ownerId: owner })
      await store.insertWebhook(hook)
      const e = event('photo.uploaded', { ownerId: owner })
      expect(await store.enqueueDeliveries([e], due)).toBe(1)
      const [delivery] = await store.listDeliveries(hook.id, 10)
      return { hook, event: e, delivery: delivery! }
    }
    /** Claims until nothing of `ids` is left, ignoring deliveries of other tests. */
    const claimOwn = async (ids: Set<string>, now: Date, limit = 1000, leaseMs = 60_000) =>
      (await store.claimDueDeliveries(now, limit, leaseMs)).filter((d) => ids.has(d.id))

    // ---------------------------------------------------------------- API keys

    describe('API keys', () => {
      test('insertApiKey then findApiKeyByHash returns every field as given', async () => {
        const key = apiKey({
          name: 'Clé de Zoë',
          scopes: ['admin'],
          lastUsedAt: at(5),
          revokedAt: at(9),
        })
        await store.insertApiKey(key)
        expect(await store.findApiKeyByHash(key.hash)).toEqual(key)
      })

      test('findApiKeyByHash returns null for an unknown hash', async () => {
        expect(await store.findApiKeyByHash('0'.repeat(64))).toBeNull()
      })

      test('a duplicate hash or id throws CONFLICT', async () => {
        const key = apiKey()
        await store.insertApiKey(key)
        await expect(store.insertApiKey(apiKey({ hash: key.hash }))).rejects.toMatchObject({
          code: 'CONFLICT',
        })
        await expect(store.insertApiKey(apiKey({ id: key.id }))).rejects.toMatchObject({
          code: 'CONFLICT',
        })
      })

      test('listApiKeys lists the owner’s keys, oldest first, and no one else’s', async () => {
        const later = apiKey({ createdAt: at(2000) })
        const first = apiKey({ createdAt: at(1000) })
        const foreign = apiKey({ ownerId: `other-${randomUUID()}` })
        for (const k of [later, first, foreign]) await store.insertApiKey(k)
        expect(await store.listApiKeys(ownerId)).toEqual([first, later])
        expect(await store.listApiKeys(`nobody-${randomUUID()}`)).toEqual([])
      })

      test('revokeApiKey sets revokedAt once and returns the key; idempotent', async () => {
        const key = apiKey()
        await store.insertApiKey(key)
        expect(await store.revokeApiKey(key.id, at(10))).toEqual({ ...key, revokedAt: at(10) })
        expect(await store.revokeApiKey(key.id, at(20))).toEqual({ ...key, revokedAt: at(10) })
        expect(await store.findApiKeyByHash(key.hash)).toEqual({ ...key, revokedAt: at(10) })
      })

      test('revokeApiKey and touchApiKey throw NOT_FOUND for a missing key', async () => {
        await expect(store.revokeApiKey(randomUUID(), at(1))).rejects.toMatchObject({
          code: 'NOT_FOUND',
        })
        await expect(store.touchApiKey(randomUUID(), at(1))).rejects.toMatchObject({
          code: 'NOT_FOUND',
        })
      })

      test('touchApiKey sets lastUsedAt', async () => {
        const key = apiKey()
        await store.insertApiKey(key)
        await store.touchApiKey(key.id, at(77))
        await store.touchApiKey(key.id, at(88))
        expect(await store.findApiKeyByHash(key.hash)).toEqual({ ...key, lastUsedAt: at(88) })
      })

      test('countApiKeys counts every key, revoked ones included', async () => {
        const before = await store.countApiKeys()
        const a = apiKey()
        await store.insertApiKey(a)
        await store.insertApiKey(apiKey({ ownerId: `other-${randomUUID()}` }))
        await store.revokeApiKey(a.id, at(1))
        // >= : other tests may share the database.
        expect(await store.countApiKeys()).toBeGreaterThanOrEqual(before + 2)
      })

      test('records are copies', async () => {
        const key = apiKey()
        await store.insertApiKey(key)
        key.scopes.push('admin')
        key.createdAt.setTime(0)
        const got = (await store.findApiKeyByHash(key.hash))!
        expect(got.scopes).toEqual(['photos.read', 'photos.write'])
        expect(got.createdAt).toEqual(at(0))
        got.scopes.push('admin')
        expect((await store.findApiKeyByHash(key.hash))!.scopes).toHaveLength(2)
      })
    })

    // ---------------------------------------------------------------- codes and sessions

    describe('sign-in codes and sessions', () => {
      const hashOf = (secret: string) => createHash('sha256').update(secret).digest('hex')
      const signInCode = (overrides: Partial<SignInCodeRecord> = {}): SignInCodeRecord => ({
        id: randomUUID(),
        hash: hashOf(randomUUID()),
        keyId: randomUUID(),
        ownerId,
        createdAt: at(0),
        expiresAt: at(600_000),
        usedAt: null,
        ...overrides,
      })
      const session = (overrides: Partial<SessionRecord> = {}): SessionRecord => ({
        id: randomUUID(),
        hash: hashOf(randomUUID()),
        keyId: randomUUID(),
        ownerId,
        scopes: ['photos.read'],
        createdAt: at(0),
        expiresAt: at(86_400_000),
        revokedAt: null,
        ...overrides,
      })

      test('getApiKey finds a key by id, or null', async () => {
        const key = apiKey()
        await store.insertApiKey(key)
        expect(await store.getApiKey(key.id)).toEqual(key)
        expect(await store.getApiKey(randomUUID())).toBeNull()
      })

      test('a code is consumed once, and not at or after its expiry', async () => {
        const code = signInCode()
        await store.insertSignInCode(code)
        expect(await store.findSignInCodeByHash(code.hash)).toEqual(code)
        const results = await Promise.all([
          store.consumeSignInCode(code.hash, at(1_000)),
          store.consumeSignInCode(code.hash, at(1_000)),
        ])
        expect(results.filter((r) => r !== null)).toEqual([{ ...code, usedAt: at(1_000) }])
        expect(await store.consumeSignInCode(code.hash, at(2_000))).toBeNull()

        const late = signInCode()
        await store.insertSignInCode(late)
        expect(await store.consumeSignInCode(late.hash, at(600_000))).toBeNull()
        expect((await store.findSignInCodeByHash(late.hash))!.usedAt).toBeNull()
        expect(await store.consumeSignInCode(hashOf('unknown'), at(0))).toBeNull()
      })

      test('codes and sessions refuse a duplicate hash with CONFLICT', async () => {
        const code = signInCode()
        await store.insertSignInCode(code)
        await expect(store.insertSignInCode(signInCode({ hash: code.hash }))).rejects.toMatchObject(
          { code: 'CONFLICT' },
        )
        const one = session()
        await store.insertSession(one)
        await expect(store.insertSession(session({ hash: one.hash }))).rejects.toMatchObject({
          code: 'CONFLICT',
        })
      })

      test('a session comes back as given; revoking is idempotent; a missing one NOT_FOUND', async () => {
        const one = session({ keyId: null, scopes: ['photos.read', 'photos.write'] })
        await store.insertSession(one)
        expect(await store.findSessionByHash(one.hash)).toEqual(one)
        await store.revokeSession(one.id, at(5))
        await store.revokeSession(one.id, at(9))
        expect((await store.findSessionByHash(one.hash))!.revokedAt).toEqual(at(5))
        expect(await store.findSessionByHash(hashOf('unknown'))).toBeNull()
        await expect(store.revokeSession(randomUUID(), at(0))).rejects.toMatchObject({
          code: 'NOT_FOUND',
        })
      })
    })

    // ---------------------------------------------------------------- webhooks

    describe('webhooks', () => {
      test('insertWebhook then getWebhook returns every field as given', async () => {
        const hook = webhook({ events: ['photo.uploaded', 'photo.deleted'] })
        await store.insertWebhook(hook)
        expect(await store.getWebhook(hook.id)).toEqual(hook)
        expect(await store.getWebhook(randomUUID())).toBeNull()
      })

      test('a duplicate id throws CONFLICT', async () => {
        const hook = webhook()
        await store.insertWebhook(hook)
        await expect(store.insertWebhook(webhook({ id: hook.id }))).rejects.toMatchObject({
          code: 'CONFLICT',
        })
      })

      test('listWebhooks lists the owner’s, oldest first', async () => {
        const b = webhook({ createdAt: at(2) })
        const a = webhook({ createdAt: at(1) })
        const foreign = webhook({ ownerId: `other-${randomUUID()}` })
        for (const h of [b, a, foreign]) await store.insertWebhook(h)
        expect(await store.listWebhooks(ownerId)).toEqual([a, b])
      })

      test('deleteWebhook removes it; a missing one throws NOT_FOUND', async () => {
        const hook = webhook()
        await store.insertWebhook(hook)
        await store.deleteWebhook(hook.id)
        expect(await store.getWebhook(hook.id)).toBeNull()
        await expect(store.deleteWebhook(hook.id)).rejects.toMatchObject({ code: 'NOT_FOUND' })
      })

      test('deleteWebhook removes its deliveries, and only its own', async () => {
        const doomed = await oneDelivery()
        const kept = await oneDelivery()
        await store.deleteWebhook(doomed.hook.id)
        expect(await store.getDelivery(doomed.delivery.id)).toBeNull()
        expect(await store.listDeliveries(doomed.hook.id, 10)).toEqual([])
        expect(await store.getDelivery(kept.delivery.id)).toEqual(kept.delivery)
        const claimed = await claimOwn(new Set([doomed.delivery.id, kept.delivery.id]), at(1))
        expect(claimed.map((d) => d.id)).toEqual([kept.delivery.id])
      })
    })

    // ---------------------------------------------------------------- deliveries

    describe('deliveries', () => {
      test('enqueueDeliveries writes one pending delivery per subscribed webhook', async () => {
        const all = webhook({ createdAt: at(1) })
        const deletes = webhook({ createdAt: at(2), events: ['photo.deleted'] })
        const foreign = webhook({ ownerId: `other-${randomUUID()}` })
        for (const h of [all, deletes, foreign]) await store.insertWebhook(h)
        const uploaded = event('photo.uploaded')
        const deleted = event('photo.deleted')
        expect(await store.enqueueDeliveries([uploaded, deleted], at(100))).toBe(3)

        const [only] = await store.listDeliveries(deletes.id, 10)
        expect(only).toEqual({
          id: expect.any(String),
          webhookId: deletes.id,
          event: deleted,
          status: 'pending',
          attempts: 0,
          nextAttemptAt: at(100),
          lastError: null,
          createdAt: at(100),
          deliveredAt: null,
        })
        const toAll = await store.listDeliveries(all.id, 10)
        expect(toAll.map((d) => d.event.id).sort()).toEqual([uploaded.id, deleted.id].sort())
        expect(await store.listDeliveries(foreign.id, 10)).toEqual([])
        expect(await store.getDelivery(only!.id)).toEqual(only)
      })

      test('enqueueDeliveries is idempotent per (webhook, event id)', async () => {
        const hook = webhook()
        await store.insertWebhook(hook)
        const e = event()
        expect(await store.enqueueDeliveries([e], at(0))).toBe(1)
        expect(await store.enqueueDeliveries([e], at(5))).toBe(0)
        expect(await store.enqueueDeliveries([e, e], at(5))).toBe(0)
        const later = webhook()
        await store.insertWebhook(later)
        // The new webhook gets it; the first one still has exactly one.
        expect(await store.enqueueDeliveries([e, event()], at(5))).toBe(3)
        expect(await store.listDeliveries(hook.id, 10)).toHaveLength(2)
        expect(await store.listDeliveries(later.id, 10)).toHaveLength(2)
      })

      test('enqueueDeliveries of nothing, or with no subscriber, enqueues 0', async () => {
        expect(await store.enqueueDeliveries([], at(0))).toBe(0)
        expect(await store.enqueueDeliveries([event()], at(0))).toBe(0)
      })

      test('enqueueDeliveries takes many events at once', async () => {
        const hook = webhook()
        await store.insertWebhook(hook)
        const events = Array.from({ length: 250 }, () => event('photo.deleted'))
        expect(await store.enqueueDeliveries(events, at(0))).toBe(250)
        expect(await store.listDeliveries(hook.id, 1000)).toHaveLength(250)
      })

      test('getDelivery returns null for a missing id', async () => {
        expect(await store.getDelivery(randomUUID())).toBeNull()
      })

      test('listDeliveries: newest first, at most limit', async () => {
        const hook = webhook()
        await store.insertWebhook(hook)
        const [a, b, c] = [event(), event(), event()]
        await store.enqueueDeliveries([a!], at(1))
        await store.enqueueDeliveries([b!], at(3))
        await store.enqueueDeliveries([c!], at(2))
        const listed = await store.listDeliveries(hook.id, 2)
        expect(listed.map((d) => d.event.id)).toEqual([b!.id, c!.id])
      })

      test('claimDueDeliveries takes due ones, oldest due first, and leases them', async () => {
        const first = await oneDelivery(at(10))
        const second = await oneDelivery(at(20))
        const notYet = await oneDelivery(at(10_000))
        const ids = new Set([first.delivery.id, second.delivery.id, notYet.delivery.id])

        const claimed = await claimOwn(ids, at(1000), 1000, 30_000)
        expect(claimed.map((d) => d.id)).toEqual([first.delivery.id, second.delivery.id])
        expect(claimed[0]).toEqual({ ...first.delivery, nextAttemptAt: at(31_000) })
        expect((await store.getDelivery(second.delivery.id))!.nextAttemptAt).toEqual(at(31_000))

        // Leased: not claimable again until the lease runs out.
        expect(await claimOwn(ids, at(2000))).toEqual([])
        const again = await claimOwn(ids, at(31_000))
        expect(again.map((d) => d.id).sort()).toEqual(
          [first.delivery.id, second.delivery.id, notYet.delivery.id].sort(),
        )
      })

      test('claimDueDeliveries honours the limit', async () => {
        const hook = webhook()
        await store.insertWebhook(hook)
        await store.enqueueDeliveries([event(), event(), event()], new Date(0))
        // At least these three are due: exactly `limit` come back.
        expect(await store.claimDueDeliveries(new Date(1), 2, 60_000)).toHaveLength(2)
        expect(await store.claimDueDeliveries(new Date(1), 0, 60_000)).toEqual([])
      })

      test('two claims at once never return the same delivery', async () => {
        const hook = webhook()
        await store.insertWebhook(hook)
        const events = Array.from({ length: 20 }, () => event())
        await store.enqueueDeliveries(events, at(0))
        const mine = new Set((await store.listDeliveries(hook.id, 100)).map((d) => d.id))
        const [a, b] = await Promise.all([claimOwn(mine, at(1), 15), claimOwn(mine, at(1), 15)])
        const ids = [...a, ...b].map((d) => d.id)
        expect(new Set(ids).size).toBe(ids.length)
        // Between them they took all 20 (other tests' deliveries are due at T0 too, but later).
        const rest = await claimOwn(mine, at(1))
        expect(new Set([...ids, ...rest.map((d) => d.id)])).toEqual(mine)
      })

      test('countPendingDeliveries counts pending ones only, due or not', async () => {
        const before = await store.countPendingDeliveries()
        const delivered = await oneDelivery()
        const givenUp = await oneDelivery()
        await oneDelivery(at(10_000_000))
        expect(await store.countPendingDeliveries()).toBe(before + 3)
        await store.markDelivered(delivered.delivery.id, at(1))
        await store.markAttemptFailed(givenUp.delivery.id, 'HTTP 410', null)
        expect(await store.countPendingDeliveries()).toBe(before + 1)
      })

      test('markDelivered: delivered, counted, never claimed again', async () => {
        const { delivery } = await oneDelivery()
        await store.markDelivered(delivery.id, at(50))
        expect(await store.getDelivery(delivery.id)).toEqual({
          ...delivery,
          status: 'delivered',
          attempts: 1,
          deliveredAt: at(50),
        })
        expect(await claimOwn(new Set([delivery.id]), at(1_000_000))).toEqual([])
      })

      test('markAttemptFailed with a next time: pending again, due then', async () => {
        const { delivery } = await oneDelivery()
        await store.markAttemptFailed(delivery.id, 'HTTP 500', at(5000))
        expect(await store.getDelivery(delivery.id)).toEqual({
          ...delivery,
          attempts: 1,
          lastError: 'HTTP 500',
          nextAttemptAt: at(5000),
        })
        expect(await claimOwn(new Set([delivery.id]), at(4999))).toEqual([])
        expect(await claimOwn(new Set([delivery.id]), at(5000))).toHaveLength(1)
      })

      test('markAttemptFailed with null gives up: failed, never claimed again', async () => {
        const { delivery } = await oneDelivery()
        await store.markAttemptFailed(delivery.id, 'first', at(10))
        await store.markAttemptFailed(delivery.id, 'timeout', null)
        const got = (await store.getDelivery(delivery.id))!
        expect(got).toMatchObject({ status: 'failed', attempts: 2, lastError: 'timeout' })
        expect(await claimOwn(new Set([delivery.id]), at(1_000_000))).toEqual([])
      })

      test('markDelivered and markAttemptFailed throw NOT_FOUND for a missing delivery', async () => {
        await expect(store.markDelivered(randomUUID(), at(1))).rejects.toMatchObject({
          code: 'NOT_FOUND',
        })
        await expect(store.markAttemptFailed(randomUUID(), 'x', null)).rejects.toMatchObject({
          code: 'NOT_FOUND',
        })
      })
    })

    // ---------------------------------------------------------------- uploads

    describe('uploads', () => {
      test('saveUpload then getUpload returns every field as given', async () => {
        const u = upload({ albumId: randomUUID() })
        await store.saveUpload(u)
        expect(await store.getUpload(u.id)).toEqual(u)
        expect(await store.getUpload(randomUUID())).toBeNull()
      })

      test('saveUpload replaces', async () => {
        const u = upload()
        await store.saveUpload(u)
        const ready = { ...u, state: 'ready' as const, photoId: randomUUID(), updatedAt: at(9) }
        await store.saveUpload(ready)
        expect(await store.getUpload(u.id)).toEqual(ready)
        const failed = { ...u, state: 'failed' as const, error: 'The file is empty.', size: null }
        await store.saveUpload(failed)
        expect(await store.getUpload(u.id)).toEqual(failed)
      })

      test("unfinishedUploadsOf counts an owner's receiving uploads and their declared bytes", async () => {
        const owner = `o-${randomUUID()}`
        expect(await store.unfinishedUploadsOf(owner)).toEqual({ count: 0, bytes: 0 })
        await store.saveUpload(upload({ ownerId: owner, size: 1000 }))
        await store.saveUpload(upload({ ownerId: owner, size: null }))
        await store.saveUpload(upload({ ownerId: owner, size: 5, state: 'ready' }))
        await store.saveUpload(upload({ ownerId: owner, size: 7, state: 'processing' }))
        await store.saveUpload(upload({ ownerId: `x-${owner}`, size: 99 }))
        expect(await store.unfinishedUploadsOf(owner)).toEqual({ count: 2, bytes: 1000 })
      })

      test('deleteUpload removes it; a missing one throws NOT_FOUND', async () => {
        const u = upload()
        await store.saveUpload(u)
        await store.deleteUpload(u.id)
        expect(await store.getUpload(u.id)).toBeNull()
        await expect(store.deleteUpload(u.id)).rejects.toMatchObject({ code: 'NOT_FOUND' })
      })
    })
  })
}
