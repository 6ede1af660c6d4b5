import { DarkroomError } from '../errors.js'
import type { DarkroomEvent } from '../ports/event-sink.js'
import { uuidV7Ids, type IdGenerator } from '../ports/ids.js'
import type {
  ApiKeyRecord,
  DeliveryRecord,
  ServerStore,
  SessionRecord,
  SignInCodeRecord,
  UploadRecord,
  WebhookRecord,
} from '../ports/server-store.js'

/**
 * The server store in memory, for tests. It passes the same contract suite as the SQL adapter:
 * unique key hashes and ids (`CONFLICT`), one delivery per (webhook, event id), deliveries
 * removed with their webhook, claims that never hand one delivery to two callers (every method
 * runs to completion before the next, as JavaScript does between awaits), and records that go
 * in and come out as copies.
 */
export interface MemoryServerStoreOptions {
  /** Ids of new deliveries; default UUIDv7. */
  ids?: IdGenerator
}

const copy = <T>(value: T): T => structuredClone(value)

const byCreated = (a: { createdAt: Date; id: string }, b: { createdAt: Date; id: string }) =>
  a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

export class MemoryServerStore implements ServerStore {
  readonly #ids: IdGenerator
  readonly #keys = new Map<string, ApiKeyRecord>()
  readonly #hooks = new Map<string, WebhookRecord>()
  readonly #deliveries = new Map<string, DeliveryRecord>()
  readonly #uploads = new Map<string, UploadRecord>()
  readonly #codes = new Map<string, SignInCodeRecord>()
  readonly #sessions = new Map<string, SessionRecord>()

  constructor(options: MemoryServerStoreOptions = {}) {
    this.#ids = options.ids ?? uuidV7Ids
  }

  // ---- API keys ----

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    if (this.#keys.has(key.id)) throw conflict(`API key ${key.id} already exists.`)
    for (const other of this.#keys.values()) {
      if (other.hash === key.hash) throw conflict('An API key with this hash already exists.')
    }
    this.#keys.set(key.id, copy(key))
  }

  async findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    for (const key of this.#keys.values()) if (key.hash === hash) return copy(key)
    return null
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | null> {
    const key = this.#keys.get(id)
    return key ? copy(key) : null
  }

  async listApiKeys(ownerId: string): Promise<ApiKeyRecord[]> {
    return [...this.#keys.values()]
      .filter((k) => k.ownerId === ownerId)
      .sort(byCreated)
      .map(copy)
  }

  async revokeApiKey(id: string, at: Date): Promise<ApiKeyRecord> {
    const key = this.#key(id)
    const next = { ...key, revokedAt: key.revokedAt ?? new Date(at) }
    this.#keys.set(id, next)
    return copy(next)
  }

  async touchApiKey(id: string, at: Date): Promise<void> {
    this.#keys.set(id, { ...this.#key(id), lastUsedAt: new Date(at) })
  }

  async countApiKeys(): Promise<number> {
    return this.#keys.size
  }

  // ---- sign-in codes and sessions ----

  async insertSignInCode(code: SignInCodeRecord): Promise<void> {
    if (this.#codes.has(code.id)) throw conflict(`Sign-in code ${code.id} already exists.`)
    for (const other of this.#codes.values()) {
      if (other.hash === code.hash) throw conflict('A sign-in code with this hash already exists.')
    }
    this.#codes.set(code.id, copy(code))
  }

  async findSignInCodeByHash(hash: string): Promise<SignInCodeRecord | null> {
    for (const code of this.#codes.values()) if (code.hash === hash) return copy(code)
    return null
  }

  async consumeSignInCode(hash: string, at: Date): Promise<SignInCodeRecord | null> {
    for (const code of this.#codes.values()) {
      if (code.hash !== hash) continue
      if (code.usedAt !== null || at.getTime() >= code.expiresAt.getTime()) return null
      const used = { ...code, usedAt: new Date(at) }
      this.#codes.set(code.id, used)
      return copy(used)
    }
    return null
  }

  async insertSession(session: SessionRecord): Promise<void> {
    if (this.#sessions.has(session.id)) throw conflict(`Session ${session.id} already exists.`)
    for (const other of this.#sessions.values()) {
      if (other.hash === session.hash) throw conflict('A session with this hash already exists.')
    }
    this.#sessions.set(session.id, copy(session))
  }

  async findSessionByHash(hash: string): Promise<SessionRecord | null> {
    for (const session of this.#sessions.values()) if (session.hash === hash) return copy(session)
    return null
  }

  async revokeSession(id: string, at: Date): Promise<void> {
    const session = this.#sessions.get(id)
    if (!session) throw DarkroomError.notFound('Session', id)
    this.#sessions.set(id, { ...session, revokedAt: session.revokedAt ?? new Date(at) })
  }

  // ---- webhooks ----

  async insertWebhook(hook: WebhookRecord): Promise<void> {
    if (this.#hooks.has(hook.id)) throw conflict(`Webhook ${hook.id} already exists.`)
    this.#hooks.set(hook.id, copy(hook))
  }

  async getWebhook(id: string): Promise<WebhookRecord | null> {
    const hook = this.#hooks.get(id)
    return hook ? copy(hook) : null
  }

  async listWebhooks(ownerId: string): Promise<WebhookRecord[]> {
    return [...this.#hooks.values()]
      .filter((h) => h.ownerId === ownerId)
      .sort(byCreated)
      .map(copy)
  }

  async deleteWebhook(id: string): Promise<void> {
    if (!this.#hooks.delete(id)) throw DarkroomError.notFound('Webhook', id)
    for (const [deliveryId, d] of this.#deliveries) {
      if (d.webhookId === id) this.#deliveries.delete(deliveryId)
    }
  }

  // ---- deliveries ----

  async enqueueDeliveries(events: readonly DarkroomEvent[], at: Date): Promise<number> {
    const taken = new Set([...this.#deliveries.values()].map((d) => pair(d.webhookId, d.event.id)))
    const hooks = [...this.#hooks.values()].sort(byCreated)
    const added: DeliveryRecord[] = []
    for (const event of events) {
      for (const hook of hooks) {
        if (hook.ownerId !== event.ownerId) continue
        if (hook.events.length > 0 && !hook.events.includes(event.type)) continue
        if (taken.has(pair(hook.id, event.id))) continue
        taken.add(pair(hook.id, event.id))
        added.push({
          id: this.#ids.newId(),
          webhookId: hook.id,
          event: copy(event),
          status: 'pending',
          attempts: 0,
          nextAttemptAt: new Date(at),
          lastError: null,
          createdAt: new Date(at),
          deliveredAt: null,
        })
      }
    }
    // All or nothing, as the SQL adapter's transaction.
    for (const d of added) this.#deliveries.set(d.id, d)
    return added.length
  }

  async claimDueDeliveries(now: Date, limit: number, leaseMs: number): Promise<DeliveryRecord[]> {
    const due = [...this.#deliveries.values()]
      .filter((d) => d.status === 'pending' && d.nextAttemptAt.getTime() <= now.getTime())
      .sort(
        (a, b) =>
          a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() ||
          (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
      )
      .slice(0, Math.max(0, limit))
    const leaseUntil = new Date(now.getTime() + leaseMs)
    return due.map((d) => {
      const claimed = { ...d, nextAttemptAt: new Date(leaseUntil) }
      this.#deliveries.set(d.id, claimed)
      return copy(claimed)
    })
  }

  async markDelivered(id: string, at: Date): Promise<void> {
    const d = this.#delivery(id)
    this.#deliveries.set(id, {
      ...d,
      status: 'delivered',
      attempts: d.attempts + 1,
      deliveredAt: new Date(at),
    })
  }

  async markAttemptFailed(id: string, error: string, nextAttemptAt: Date | null): Promise<void> {
    const d = this.#delivery(id)
    this.#deliveries.set(id, {
      ...d,
      status: nextAttemptAt === null ? 'failed' : 'pending',
      attempts: d.attempts + 1,
      lastError: error,
      nextAttemptAt: nextAttemptAt === null ? d.nextAttemptAt : new Date(nextAttemptAt),
    })
  }

  async getDelivery(id: string): Promise<DeliveryRecord | null> {
    const d = this.#deliveries.get(id)
    return d ? copy(d) : null
  }

  async listDeliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]> {
    return [...this.#deliveries.values()]
      .filter((d) => d.webhookId === webhookId)
      .sort((a, b) => byCreated(b, a))
      .slice(0, Math.max(0, limit))
      .map(copy)
  }

  async countPendingDeliveries(): Promise<number> {
    return [...this.#deliveries.values()].filter((d) => d.status === 'pending').length
  }

  // ---- uploads ----

  async saveUpload(upload: UploadRecord): Promise<void> {
    this.#uploads.set(upload.id, copy(upload))
  }

  async getUpload(id: string): Promise<UploadRecord | null> {
    const upload = this.#uploads.get(id)
    return upload ? copy(upload) : null
  }

  async unfinishedUploadsOf(ownerId: string): Promise<{ count: number; bytes: number }> {
    let count = 0
    let bytes = 0
    for (const upload of this.#uploads.values()) {
      if (upload.ownerId !== ownerId || upload.state !== 'receiving') continue
      count++
      bytes += upload.size ?? 0
    }
    return { count, bytes }
  }

  async deleteUpload(id: string): Promise<void> {
    if (!this.#uploads.delete(id)) throw DarkroomError.notFound('Upload', id)
  }

  // ---- internals ----

  #key(id: string): ApiKeyRecord {
    const key = this.#keys.get(id)
    if (!key) throw DarkroomError.notFound('API key', id)
    return key
  }

  #delivery(id: string): DeliveryRecord {
    const d = this.#deliveries.get(id)
    if (!d) throw DarkroomError.notFound('Delivery', id)
    return d
  }
}

function conflict(message: string): DarkroomError {
  return new DarkroomError('CONFLICT', message)
}

function pair(webhookId: string, eventId: string): string {
  return `${webhookId}\u0000${eventId}`
}
