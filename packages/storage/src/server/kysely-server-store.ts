import {
  DarkroomError,
  uuidV7Ids,
  type ApiKeyRecord,
  type DarkroomEvent,
  type DeliveryRecord,
  type DeliveryStatus,
  type IdGenerator,
  type ServerStore,
  type SessionRecord,
  type SignInCodeRecord,
  type UploadRecord,
  type UploadState,
  type WebhookRecord,
} from '@darkroom/core'
import type { Insertable, Kysely, Selectable } from 'kysely'
import { isUniqueViolation } from '../internal/sql-errors.js'
import { migrateToLatest } from '../metadata/migrations/index.js'
import type { Database, SqlDialectName, WebhookDeliveriesTable } from '../metadata/schema.js'

/**
 * `ServerStore` over the same kysely database as `KyselyMetadataStore` (its tables come with
 * migration `0002-server`; `KyselyMetadataStore#server` is one of these over the store's own
 * connection). Claims lease deliveries by pushing `next_attempt_at` inside a transaction:
 * SQLite's transactions hold the write lock from their first statement (see `sqlite.ts`), and
 * Postgres takes the rows `FOR UPDATE SKIP LOCKED`, so two workers never get the same delivery.
 */
export interface KyselyServerStoreOptions {
  /** Shared, not owned: whoever created it closes it. */
  db: Kysely<Database>
  dialect: SqlDialectName
  /** Ids of new deliveries; default UUIDv7. */
  ids?: IdGenerator
}

type Db = Kysely<Database>

// Rows per multi-row insert: 10 columns each, well under both dialects' parameter limits.
const INSERT_CHUNK = 100

export class KyselyServerStore implements ServerStore {
  readonly #db: Db
  readonly #dialect: SqlDialectName
  readonly #ids: IdGenerator

  constructor(options: KyselyServerStoreOptions) {
    if (!options?.db) throw new Error('KyselyServerStore: the `db` option is required.')
    if (options.dialect !== 'sqlite' && options.dialect !== 'postgres') {
      throw new Error('KyselyServerStore: `dialect` must be "sqlite" or "postgres".')
    }
    this.#db = options.db
    this.#dialect = options.dialect
    this.#ids = options.ids ?? uuidV7Ids
  }

  /**
   * Brings the whole schema up to date (the metadata tables too: they share one migration
   * list). Only needed when this store is used without its `KyselyMetadataStore`.
   */
  async migrate(): Promise<void> {
    await migrateToLatest(this.#db.withoutPlugins(), this.#dialect)
  }

  // ---- API keys ----

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    try {
      await this.#db
        .insertInto('apiKeys')
        .values({
          id: key.id,
          ownerId: key.ownerId,
          name: key.name,
          prefix: key.prefix,
          hash: key.hash,
          scopes: JSON.stringify(key.scopes),
          createdAt: key.createdAt.getTime(),
          lastUsedAt: key.lastUsedAt?.getTime() ?? null,
          revokedAt: key.revokedAt?.getTime() ?? null,
        })
        .execute()
    } catch (error) {
      throw conflictOr(error, `API key ${key.id} (or one with the same hash) already exists.`)
    }
  }

  async findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    const row = await this.#db
      .selectFrom('apiKeys')
      .selectAll()
      .where('hash', '=', hash)
      .executeTakeFirst()
    return row ? toApiKey(row) : null
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | null> {
    const row = await this.#db
      .selectFrom('apiKeys')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? toApiKey(row) : null
  }

  async listApiKeys(ownerId: string): Promise<ApiKeyRecord[]> {
    const rows = await this.#db
      .selectFrom('apiKeys')
      .selectAll()
      .where('ownerId', '=', ownerId)
      .orderBy('createdAt')
      .orderBy('id')
      .execute()
    return rows.map(toApiKey)
  }

  async revokeApiKey(id: string, at: Date): Promise<ApiKeyRecord> {
    // The first revocation's time stays: revoking again changes nothing.
    await this.#db
      .updateTable('apiKeys')
      .set({ revokedAt: at.getTime() })
      .where('id', '=', id)
      .where('revokedAt', 'is', null)
      .execute()
    const row = await this.#db
      .selectFrom('apiKeys')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
    if (!row) throw DarkroomError.notFound('API key', id)
    return toApiKey(row)
  }

  async touchApiKey(id: string, at: Date): Promise<void> {
    const result = await this.#db
      .updateTable('apiKeys')
      .set({ lastUsedAt: at.getTime() })
      .where('id', '=', id)
      .executeTakeFirst()
    if (result.numUpdatedRows === 0n) throw DarkroomError.notFound('API key', id)
  }

  async countApiKeys(): Promise<number> {
    const row = await this.#db
      .selectFrom('apiKeys')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  // ---- sign-in codes and sessions ----

  async insertSignInCode(code: SignInCodeRecord): Promise<void> {
    try {
      await this.#db
        .insertInto('signInCodes')
        .values({
          id: code.id,
          hash: code.hash,
          keyId: code.keyId,
          ownerId: code.ownerId,
          createdAt: code.createdAt.getTime(),
          expiresAt: code.expiresAt.getTime(),
          usedAt: code.usedAt?.getTime() ?? null,
        })
        .execute()
    } catch (error) {
      throw conflictOr(error, `Sign-in code ${code.id} (or one with the same hash) already exists.`)
    }
  }

  async findSignInCodeByHash(hash: string): Promise<SignInCodeRecord | null> {
    const row = await this.#db
      .selectFrom('signInCodes')
      .selectAll()
      .where('hash', '=', hash)
      .executeTakeFirst()
    return row ? toSignInCode(row) : null
  }

  async consumeSignInCode(hash: string, at: Date): Promise<SignInCodeRecord | null> {
    // One conditional UPDATE: of two concurrent exchanges, only one changes the row.
    const result = await this.#db
      .updateTable('signInCodes')
      .set({ usedAt: at.getTime() })
      .where('hash', '=', hash)
      .where('usedAt', 'is', null)
      .where('expiresAt', '>', at.getTime())
      .executeTakeFirst()
    if (result.numUpdatedRows === 0n) return null
    return this.findSignInCodeByHash(hash)
  }

  async insertSession(session: SessionRecord): Promise<void> {
    try {
      await this.#db
        .insertInto('sessions')
        .values({
          id: session.id,
          hash: session.hash,
          keyId: session.keyId,
          ownerId: session.ownerId,
          scopes: JSON.stringify(session.scopes),
          createdAt: session.createdAt.getTime(),
          expiresAt: session.expiresAt.getTime(),
          revokedAt: session.revokedAt?.getTime() ?? null,
        })
        .execute()
    } catch (error) {
      throw conflictOr(error, `Session ${session.id} (or one with the same hash) already exists.`)
    }
  }

  async findSessionByHash(hash: string): Promise<SessionRecord | null> {
    const row = await this.#db
      .selectFrom('sessions')
      .selectAll()
      .where('hash', '=', hash)
      .executeTakeFirst()
    return row ? toSession(row) : null
  }

  async revokeSession(id: string, at: Date): Promise<void> {
    await this.#db
      .updateTable('sessions')
      .set({ revokedAt: at.getTime() })
      .where('id', '=', id)
      .where('revokedAt', 'is', null)
      .execute()
    const row = await this.#db
      .selectFrom('sessions')
      .select('id')
      .where('id', '=', id)
      .executeTakeFirst()
    if (!row) throw DarkroomError.notFound('Session', id)
  }

  // ---- webhooks ----

  async insertWebhook(hook: WebhookRecord): Promise<void> {
    try {
      await this.#db
        .insertInto('webhooks')
        .values({
          id: hook.id,
          ownerId: hook.ownerId,
          url: hook.url,
          secret: hook.secret,
          events: JSON.stringify(hook.events),
          createdAt: hook.createdAt.getTime(),
        })
        .execute()
    } catch (error) {
      throw conflictOr(error, `Webhook ${hook.id} already exists.`)
    }
  }

  async getWebhook(id: string): Promise<WebhookRecord | null> {
    const row = await this.#db
      .selectFrom('webhooks')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? toWebhook(row) : null
  }

  async listWebhooks(ownerId: string): Promise<WebhookRecord[]> {
    const rows = await this.#db
      .selectFrom('webhooks')
      .selectAll()
      .where('ownerId', '=', ownerId)
      .orderBy('createdAt')
      .orderBy('id')
      .execute()
    return rows.map(toWebhook)
  }

  async deleteWebhook(id: string): Promise<void> {
    // Its deliveries go with it (on delete cascade).
    const result = await this.#db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst()
    if (result.numDeletedRows === 0n) throw DarkroomError.notFound('Webhook', id)
  }

  // ---- deliveries ----

  async enqueueDeliveries(events: readonly DarkroomEvent[], at: Date): Promise<number> {
    if (events.length === 0) return 0
    const owners = [...new Set(events.map((e) => e.ownerId))]
    return this.#db.transaction().execute(async (trx) => {
      const hooks = (
        await trx
          .selectFrom('webhooks')
          .selectAll()
          .where('ownerId', 'in', owners)
          .orderBy('createdAt')
          .orderBy('id')
          .execute()
      ).map(toWebhook)
      const rows: Insertable<WebhookDeliveriesTable>[] = []
      for (const event of events) {
        const json = JSON.stringify(event)
        for (const hook of hooks) {
          if (hook.ownerId !== event.ownerId) continue
          if (hook.events.length > 0 && !hook.events.includes(event.type)) continue
          rows.push({
            id: this.#ids.newId(),
            webhookId: hook.id,
            eventId: event.id,
            event: json,
            status: 'pending',
            attempts: 0,
            nextAttemptAt: at.getTime(),
            lastError: null,
            createdAt: at.getTime(),
            deliveredAt: null,
          })
        }
      }
      let enqueued = 0
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const result = await trx
          .insertInto('webhookDeliveries')
          .values(rows.slice(i, i + INSERT_CHUNK))
          .onConflict((oc) => oc.columns(['webhookId', 'eventId']).doNothing())
          .executeTakeFirst()
        enqueued += Number(result.numInsertedOrUpdatedRows ?? 0)
      }
      return enqueued
    })
  }

  async claimDueDeliveries(now: Date, limit: number, leaseMs: number): Promise<DeliveryRecord[]> {
    if (limit <= 0) return []
    return this.#db.transaction().execute(async (trx) => {
      let due = trx
        .selectFrom('webhookDeliveries')
        .select('id')
        .where('status', '=', 'pending')
        .where('nextAttemptAt', '<=', now.getTime())
        .orderBy('nextAttemptAt')
        .orderBy('id')
        .limit(limit)
      if (this.#dialect === 'postgres') due = due.forUpdate().skipLocked()
      const ids = (await due.execute()).map((r) => r.id)
      if (ids.length === 0) return []
      const rows = await trx
        .updateTable('webhookDeliveries')
        .set({ nextAttemptAt: now.getTime() + leaseMs })
        .where('id', 'in', ids)
        .returningAll()
        .execute()
      const byId = new Map(rows.map((r) => [r.id, toDelivery(r)]))
      return ids.flatMap((id) => byId.get(id) ?? [])
    })
  }

  async markDelivered(id: string, at: Date): Promise<void> {
    const result = await this.#db
      .updateTable('webhookDeliveries')
      .set((eb) => ({
        status: 'delivered',
        attempts: eb('attempts', '+', 1),
        deliveredAt: at.getTime(),
      }))
      .where('id', '=', id)
      .executeTakeFirst()
    if (result.numUpdatedRows === 0n) throw DarkroomError.notFound('Delivery', id)
  }

  async markAttemptFailed(id: string, error: string, nextAttemptAt: Date | null): Promise<void> {
    const result = await this.#db
      .updateTable('webhookDeliveries')
      .set((eb) => ({
        attempts: eb('attempts', '+', 1),
        lastError: error,
        ...(nextAttemptAt === null
          ? { status: 'failed' }
          : { status: 'pending', nextAttemptAt: nextAttemptAt.getTime() }),
      }))
      .where('id', '=', id)
      .executeTakeFirst()
    if (result.numUpdatedRows === 0n) throw DarkroomError.notFound('Delivery', id)
  }

  async getDelivery(id: string): Promise<DeliveryRecord | null> {
    const row = await this.#db
      .selectFrom('webhookDeliveries')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? toDelivery(row) : null
  }

  async listDeliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]> {
    if (limit <= 0) return []
    const rows = await this.#db
      .selectFrom('webhookDeliveries')
      .selectAll()
      .where('webhookId', '=', webhookId)
      .orderBy('createdAt', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute()
    return rows.map(toDelivery)
  }

  async countPendingDeliveries(): Promise<number> {
    const row = await this.#db
      .selectFrom('webhookDeliveries')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('status', '=', 'pending')
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  // ---- uploads ----

  async saveUpload(upload: UploadRecord): Promise<void> {
    const values = {
      id: upload.id,
      ownerId: upload.ownerId,
      state: upload.state,
      filename: upload.filename,
      size: upload.size,
      albumId: upload.albumId,
      photoId: upload.photoId,
      error: upload.error,
      createdAt: upload.createdAt.getTime(),
      updatedAt: upload.updatedAt.getTime(),
    }
    const { id: _id, ...changes } = values
    await this.#db
      .insertInto('uploads')
      .values(values)
      .onConflict((oc) => oc.column('id').doUpdateSet(changes))
      .execute()
  }

  async getUpload(id: string): Promise<UploadRecord | null> {
    const row = await this.#db
      .selectFrom('uploads')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? toUpload(row) : null
  }

  async unfinishedUploadsOf(ownerId: string): Promise<{ count: number; bytes: number }> {
    const row = await this.#db
      .selectFrom('uploads')
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.sum('size').as('bytes')])
      .where('ownerId', '=', ownerId)
      .where('state', '=', 'receiving')
      .executeTakeFirstOrThrow()
    return { count: Number(row.count), bytes: Number(row.bytes ?? 0) }
  }

  async deleteUpload(id: string): Promise<void> {
    const result = await this.#db.deleteFrom('uploads').where('id', '=', id).executeTakeFirst()
    if (result.numDeletedRows === 0n) throw DarkroomError.notFound('Upload', id)
  }
}

function toApiKey(row: Selectable<Database['apiKeys']>): ApiKeyRecord {
  return {
    id: row.id,
    ownerId: row.ownerId,
    name: row.name,
    prefix: row.prefix,
    hash: row.hash,
    scopes: JSON.parse(row.scopes) as string[],
    createdAt: new Date(Number(row.createdAt)),
    lastUsedAt: toDate(row.lastUsedAt),
    revokedAt: toDate(row.revokedAt),
  }
}

function toSignInCode(row: Selectable<Database['signInCodes']>): SignInCodeRecord {
  return {
    id: row.id,
    hash: row.hash,
    keyId: row.keyId,
    ownerId: row.ownerId,
    createdAt: new Date(Number(row.createdAt)),
    expiresAt: new Date(Number(row.expiresAt)),
    usedAt: toDate(row.usedAt),
  }
}

function toSession(row: Selectable<Database['sessions']>): SessionRecord {
  return {
    id: row.id,
    hash: row.hash,
    keyId: row.keyId,
    ownerId: row.ownerId,
    scopes: JSON.parse(row.scopes) as string[],
    createdAt: new Date(Number(row.createdAt)),
    expiresAt: new Date(Number(row.expiresAt)),
    revokedAt: toDate(row.revokedAt),
  }
}

function toWebhook(row: Selectable<Database['webhooks']>): WebhookRecord {
  return {
    id: row.id,
    ownerId: row.ownerId,
    url: row.url,
    secret: row.secret,
    events: JSON.parse(row.events) as string[],
    createdAt: new Date(Number(row.createdAt)),
  }
}

function toDelivery(row: Selectable<WebhookDeliveriesTable>): DeliveryRecord {
  return {
    id: row.id,
    webhookId: row.webhookId,
    event: JSON.parse(row.event) as DarkroomEvent,
    status: row.status as DeliveryStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: new Date(Number(row.nextAttemptAt)),
    lastError: row.lastError,
    createdAt: new Date(Number(row.createdAt)),
    deliveredAt: toDate(row.deliveredAt),
  }
}

function toUpload(row: Selectable<Database['uploads']>): UploadRecord {
  return {
    id: row.id,
    ownerId: row.ownerId,
    state: row.state as UploadState,
    filename: row.filename,
    size: row.size === null ? null : Number(row.size),
    albumId: row.albumId,
    photoId: row.photoId,
    error: row.error,
    createdAt: new Date(Number(row.createdAt)),
    updatedAt: new Date(Number(row.updatedAt)),
  }
}

function toDate(value: number | string | null): Date | null {
  return value === null ? null : new Date(Number(value))
}

function conflictOr(error: unknown, message: string): unknown {
  if (isUniqueViolation(error)) return new DarkroomError('CONFLICT', message, { cause: error })
  return error
}
