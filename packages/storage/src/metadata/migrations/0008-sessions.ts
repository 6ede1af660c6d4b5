import { sql, type Kysely } from 'kysely'
import type { SqlDialectName } from '../schema.js'
import type { MetadataMigration } from './index.js'

/**
 * One-time sign-in codes and browser sessions (issue 15: the picture cookie carried the whole
 * API key, and the first-start link put the admin key in a URL). Both keep only the sha256 of
 * their secret. A code is used once (`used_at`); a session stands for an API key (`key_id`, it
 * dies with the key) or, for an app's own sign-in, for an owner and scopes.
 */
export const sessions: MetadataMigration = {
  name: '0008-sessions',
  async up(db: Kysely<any>, dialect: SqlDialectName) {
    const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`
    await db.schema
      .createTable('sign_in_codes')
      .addColumn('id', key, (c) => c.primaryKey())
      .addColumn('hash', key, (c) => c.notNull().unique())
      .addColumn('key_id', key, (c) => c.notNull())
      .addColumn('owner_id', key, (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute()
    await db.schema
      .createTable('sessions')
      .addColumn('id', key, (c) => c.primaryKey())
      .addColumn('hash', key, (c) => c.notNull().unique())
      .addColumn('key_id', key)
      .addColumn('owner_id', key, (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute()
  },
}
