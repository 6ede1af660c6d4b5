import type { Kysely } from 'kysely'
import type { MetadataMigration } from './index.js'

/**
 * An index for `listTrashedBefore` (`maintenance.purgeTrash`): the trash, longest there first,
 * without a scan of every photo. Rows outside the trash (`deleted_at` null) sort apart in both
 * dialects, so the range `deleted_at < cutoff` never visits them.
 */
export const trashIndex: MetadataMigration = {
  name: '0005-trash-index',
  async up(db: Kysely<any>) {
    await db.schema
      .createIndex('photos_deleted_at')
      .on('photos')
      .columns(['deleted_at', 'id'])
      .execute()
  },
}
