import { sql, type Kysely } from 'kysely'
import type { SqlDialectName } from '../schema.js'
import type { MetadataMigration } from './index.js'

/**
 * `photos.manual_dimensions`: width and height were set by hand (`photos.update`), so that
 * `repairDimensions` keeps them unless told to override them. Existing rows were never marked:
 * false. The default is spelled per dialect (SQLite stores booleans as 0/1).
 */
export const manualDimensions: MetadataMigration = {
  name: '0006-manual-dimensions',
  async up(db: Kysely<any>, dialect: SqlDialectName) {
    await db.schema
      .alterTable('photos')
      .addColumn('manual_dimensions', 'boolean', (c) =>
        c.notNull().defaultTo(dialect === 'postgres' ? sql`false` : sql`0`),
      )
      .execute()
  },
}
