import { sql, type Kysely } from 'kysely'
import type { SqlDialectName } from '../schema.js'
import type { MetadataMigration } from './index.js'

/**
 * `retained_blobs`: blobs a hard delete with `preserveOnDisk` left in place. No photo row
 * references them, so the orphan sweep would take them for leftovers; it reads this table and
 * spares them. Keyed by the blob key (`COLLATE "C"` on Postgres, as every compared key).
 */
export const retainedBlobs: MetadataMigration = {
  name: '0004-retained-blobs',
  async up(db: Kysely<any>, dialect: SqlDialectName) {
    const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`
    await db.schema
      .createTable('retained_blobs')
      .addColumn('key', key, (c) => c.primaryKey())
      .addColumn('photo_id', key, (c) => c.notNull())
      .addColumn('owner_id', key, (c) => c.notNull())
      .addColumn('retained_at', 'bigint', (c) => c.notNull())
      .execute()
  },
}
