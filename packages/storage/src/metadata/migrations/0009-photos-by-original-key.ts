import type { Kysely } from 'kysely'
import type { MetadataMigration } from './index.js'

/**
 * An index for `findPhotosByOriginalKey`: a copy shares its source's blobs, so before a delete or
 * the orphan sweep removes a blob it asks which rows still name its original key. Every delete
 * asks, so the answer must not scan the table.
 */
export const photosByOriginalKey: MetadataMigration = {
  name: '0009-photos-by-original-key',
  async up(db: Kysely<any>) {
    await db.schema.createIndex('photos_original_key').on('photos').column('original_key').execute()
  },
}
