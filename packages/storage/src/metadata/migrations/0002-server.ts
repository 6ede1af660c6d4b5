import { sql, type Kysely } from 'kysely'
import type { SqlDialectName } from '../schema.js'
import type { MetadataMigration } from './index.js'

/**
 * The server's own tables (`ServerStore`): API keys, webhook subscriptions, the webhook outbox
 * and tus upload states. Portable as 0001: the schema builder, integer-millisecond timestamps,
 * JSON as text, `COLLATE "C"` on compared keys in Postgres. Deliveries go with their webhook
 * (`on delete cascade`; SQLite needs `foreign_keys = ON`, which `createSqliteStore` sets).
 */
export const server: MetadataMigration = {
  name: '0002-server',
  async up(db: Kysely<any>, dialect: SqlDialectName) {
    const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`

    await db.schema
      .createTable('api_keys')
      .addColumn('id', key, (c) => c.primaryKey())
      .addColumn('owner_id', key, (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('prefix', 'text', (c) => c.notNull())
      .addColumn('hash', key, (c) => c.notNull().unique())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .execute()
    await db.schema
      .createIndex('api_keys_owner_created')
      .on('api_keys')
      .columns(['owner_id', 'created_at', 'id'])
      .execute()

    await db.schema
      .createTable('webhooks')
      .addColumn('id', key, (c) => c.primaryKey())
      .addColumn('owner_id', key, (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('events', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute()
    await db.schema
      .createIndex('webhooks_owner_created')
      .on('webhooks')
      .columns(['owner_id', 'created_at', 'id'])
      .execute()

    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('id', key, (c) => c.primaryKey())
      .addColumn('webhook_id', key, (c) =>
        c.notNull().references('webhooks.id').onDelete('cascade'),
      )
      .addColumn('event_id', key, (c) => c.notNull())
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('status', key, (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('delivered_at', 'bigint')
      .addUniqueConstraint('webhook_deliveries_webhook_event', ['webhook_id', 'event_id'])
      .execute()
    // The worker's query: pending deliveries by due time.
    await db.schema
      .createIndex('webhook_deliveries_status_due')
      .on('webhook_deliveries')
      .columns(['status', 'next_attempt_at', 'id'])
      .execute()
    await db.schema
      .createIndex('webhook_deliveries_webhook_created')
      .on('webhook_deliveries')
      .columns(['webhook_id', 'created_at', 'id'])
      .execute()

    await db.schema
      .createTable('uploads')
      .addColumn('id', key, (c) => c.primaryKey())
      .addColumn('owner_id', key, (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('filename', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint')
      .addColumn('album_id', key)
      .addColumn('photo_id', key)
      .addColumn('error', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute()
  },
}
