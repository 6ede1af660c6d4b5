import type { Kysely } from 'kysely'
import type { MetadataMigration } from './index.js'

/**
 * An index for `unfinishedUploadsOf`: an owner's uploads by state, so the bound on unfinished
 * uploads is checked without a scan of every upload ever made.
 */
export const uploadsByOwner: MetadataMigration = {
  name: '0007-uploads-by-owner',
  async up(db: Kysely<any>) {
    await db.schema
      .createIndex('uploads_owner_state')
      .on('uploads')
      .columns(['owner_id', 'state'])
      .execute()
  },
}
