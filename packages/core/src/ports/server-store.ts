import type { DarkroomEvent } from './event-sink.js'

/**
 * Records the service layer keeps beside the photo library: API keys, webhook subscriptions,
 * the webhook outbox and the state of resumable uploads. Core does not use them; they are
 * ports here so that every adapter lives in `@darkroom/storage` and passes one contract suite.
 * Conventions as in `MetadataStore`: lookups return null, commands on a missing row throw
 * `NOT_FOUND`, unique violations throw `CONFLICT`.
 */

export interface ApiKeyRecord {
  id: string
  ownerId: string
  name: string
  /** The first characters of the key (`sk_ab12`), to recognise it in lists. */
  prefix: string
  /** sha256 of the whole key, hex. The key itself is never stored. */
  hash: string
  scopes: string[]
  createdAt: Date
  lastUsedAt: Date | null
  revokedAt: Date | null
}

export interface WebhookRecord {
  id: string
  ownerId: string
  url: string
  /** HMAC-SHA256 signing secret. */
  secret: string
  /** Event types delivered; empty means all. */
  events: string[]
  createdAt: Date
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed'

export interface DeliveryRecord {
  id: string
  webhookId: string
  event: DarkroomEvent
  status: DeliveryStatus
  attempts: number
  nextAttemptAt: Date
  lastError: string | null
  createdAt: Date
  deliveredAt: Date | null
}

export type UploadState = 'receiving' | 'processing' | 'ready' | 'failed'

export interface UploadRecord {
  /** The tus upload id. */
  id: string
  ownerId: string
  state: UploadState
  filename: string
  size: number | null
  albumId: string | null
  photoId: string | null
  /** The violation (or error) message when failed. */
  error: string | null
  createdAt: Date
  updatedAt: Date
}

/**
 * A one-time sign-in code: printed on first start or by `darkroom keys code`, exchanged once
 * (`POST /session`) for a session of the key it was made for.
 */
export interface SignInCodeRecord {
  id: string
  /** sha256 of the code, hex. The code itself is never stored. */
  hash: string
  keyId: string
  ownerId: string
  createdAt: Date
  expiresAt: Date
  usedAt: Date | null
}

/**
 * A browser session: what the gallery's picture cookie names (`darkroom_session=ds_...`) and
 * the bearer token a code exchange hands the page. Stands for an API key (`keyId`: it dies with
 * the key, and has the key's scopes) or, for an app's own sign-in, for `ownerId` and `scopes`.
 */
export interface SessionRecord {
  id: string
  /** sha256 of the token, hex. The token itself is never stored. */
  hash: string
  keyId: string | null
  ownerId: string
  scopes: string[]
  createdAt: Date
  expiresAt: Date
  revokedAt: Date | null
}

export interface ServerStore {
  insertApiKey(key: ApiKeyRecord): Promise<void>
  /** The key with this hash, revoked or not, or null. */
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null>
  /** The key with this id, revoked or not, or null. */
  getApiKey(id: string): Promise<ApiKeyRecord | null>
  listApiKeys(ownerId: string): Promise<ApiKeyRecord[]>
  /** Sets revokedAt (idempotent). Throws `NOT_FOUND`. */
  revokeApiKey(id: string, at: Date): Promise<ApiKeyRecord>
  touchApiKey(id: string, at: Date): Promise<void>
  countApiKeys(): Promise<number>

  /** Unique id and hash (`CONFLICT`). */
  insertSignInCode(code: SignInCodeRecord): Promise<void>
  /** The code with this hash, used, expired or not, or null. */
  findSignInCodeByHash(hash: string): Promise<SignInCodeRecord | null>
  /**
   * Marks the code with this hash used at `at` when it is unused and `at` is before its
   * expiry, and returns it; otherwise (unknown, used, expired) null and nothing changes. Of two
   * concurrent calls for one code, one gets it.
   */
  consumeSignInCode(hash: string, at: Date): Promise<SignInCodeRecord | null>
  /** Unique id and hash (`CONFLICT`). */
  insertSession(session: SessionRecord): Promise<void>
  /** The session with this hash, revoked, expired or not, or null. */
  findSessionByHash(hash: string): Promise<SessionRecord | null>
  /** Sets revokedAt (idempotent). Throws `NOT_FOUND`. */
  revokeSession(id: string, at: Date): Promise<void>

  insertWebhook(hook: WebhookRecord): Promise<void>
  getWebhook(id: string): Promise<WebhookRecord | null>
  listWebhooks(ownerId: string): Promise<WebhookRecord[]>
  /** Removes it and its pending deliveries. Throws `NOT_FOUND`. */
  deleteWebhook(id: string): Promise<void>

  /**
   * Writes one delivery per (event, subscribed webhook of the event's owner) in one
   * transaction. Idempotent per (webhook, event id). Returns how many were enqueued.
   */
  enqueueDeliveries(events: readonly DarkroomEvent[], at: Date): Promise<number>
  /**
   * Claims up to `limit` pending deliveries due at `now`, pushing their nextAttemptAt to
   * `now + leaseMs` so that a concurrent worker does not take them too.
   */
  claimDueDeliveries(now: Date, limit: number, leaseMs: number): Promise<DeliveryRecord[]>
  markDelivered(id: string, at: Date): Promise<void>
  /** Records a failed attempt; `nextAttemptAt` null gives up (status `failed`). */
  markAttemptFailed(id: string, error: string, nextAttemptAt: Date | null): Promise<void>
  getDelivery(id: string): Promise<DeliveryRecord | null>
  listDeliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]>
  /** Deliveries still `pending` (due or not, claimed or not) of all webhooks: the outbox depth. */
  countPendingDeliveries(): Promise<number>

  /** Creates or replaces. */
  saveUpload(upload: UploadRecord): Promise<void>
  getUpload(id: string): Promise<UploadRecord | null>
  /**
   * An owner's uploads still `receiving`: how many, and the bytes they declared (an upload of
   * unknown length counts 0). The bound on unfinished uploads per owner.
   */
  unfinishedUploadsOf(ownerId: string): Promise<{ count: number; bytes: number }>
  deleteUpload(id: string): Promise<void>
}
