import { sql, type Kysely } from 'kysely'
import type { SqlDialectName } from '../schema.js'
import type { MetadataMigration } from './index.js'

/**
 * The first schema. Portable by construction: the kysely schema builder, types both dialects
 * know (`text`, `integer`, `bigint`, `double precision`, `boolean`), timestamps as integer
 * milliseconds, JSON as text. On Postgres every text column that is sorted or compared takes
 * `COLLATE "C"`, so strings order by bytes exactly as SQLite's BINARY and `compareBinary` do.
 */
export const initial: MetadataMigration = {
  name: '0001-initial',
  async up(db: Kysely<any>, dialect: SqlDialectName) {
    const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`

    await db.schema
      .createTable('owners')
      .addColumn('owner_id', key, (c) => c.primaryKey())
      .addColumn('quota_bytes', 'bigint')
      .addColumn('profile_photo_id', key)
      .execute()

    await db.schema
      .createTable('albums')
      .addColumn('id', key, (c) => c.primaryKey())
      .addColumn('owner_id', key, (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('photo_cap', 'integer')
      .addColumn('cover_photo_id', key)
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute()
    await db.schema
      .createIndex('albums_owner_created')
      .on('albums')
      .columns(['owner_id', 'created_at', 'id'])
      .execute()

    await db.schema
      .createTable('photos')
      .addColumn('id', key, (c) => c.primaryKey())
      .addColumn('owner_id', key, (c) => c.notNull())
      .addColumn('album_id', key, (c) => c.references('albums.id').onDelete('set null'))
      .addColumn('album_key', key, (c) => c.notNull())
      .addColumn('category', key)
      .addColumn('filename', key, (c) => c.notNull())
      .addColumn('filename_search', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('description_search', 'text', (c) => c.notNull())
      .addColumn('mime_type', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('width', 'integer')
      .addColumn('height', 'integer')
      .addColumn('orientation', 'integer')
      .addColumn('taken_at', 'text')
      .addColumn('taken_sort', key, (c) => c.notNull())
      .addColumn('exif', 'text')
      .addColumn('hue', 'text')
      .addColumn('thumbhash', 'text')
      .addColumn('checksum', key, (c) => c.notNull())
      .addColumn('is_public', 'boolean', (c) => c.notNull())
      .addColumn('hidden', 'boolean', (c) => c.notNull())
      .addColumn('pending', 'boolean', (c) => c.notNull())
      .addColumn('deleted_at', 'bigint')
      .addColumn('position', key, (c) => c.notNull())
      .addColumn('post_id', 'text')
      .addColumn('original_key', 'text', (c) => c.notNull())
      .addColumn('variants', 'text', (c) => c.notNull())
      .addColumn('duration_sec', 'double precision')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('views', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('downloads', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('likes', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('rating_sum', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('rating_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('comment_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('rating_avg', 'double precision', (c) => c.notNull().defaultTo(0))
      .execute()

    await db.schema
      .createIndex('photos_owner_album_checksum')
      .unique()
      .on('photos')
      .columns(['owner_id', 'album_key', 'checksum'])
      .execute()
    // One index per listPhotos sort, ending in id for the tie-break and the keyset.
    const sorts: [string, string][] = [
      ['photos_owner_album_position', 'album_key, position'],
      ['photos_owner_created', 'created_at'],
      ['photos_owner_taken', 'taken_sort'],
      ['photos_owner_filename', 'filename'],
      ['photos_owner_size', 'size'],
      ['photos_owner_rating', 'rating_avg'],
    ]
    for (const [name, columns] of sorts) {
      await db.schema
        .createIndex(name)
        .on('photos')
        .columns(['owner_id', ...columns.split(', '), 'id'])
        .execute()
    }
    await db.schema
      .createIndex('photos_pending_created')
      .on('photos')
      .columns(['pending', 'created_at', 'id'])
      .execute()
    // For album counts, and for the foreign key's ON DELETE SET NULL.
    await db.schema.createIndex('photos_album').on('photos').column('album_id').execute()

    for (const table of ['photo_likes', 'photo_ratings'] as const) {
      let builder = db.schema
        .createTable(table)
        .addColumn('photo_id', key, (c) => c.notNull().references('photos.id').onDelete('cascade'))
        .addColumn('user_id', key, (c) => c.notNull())
      if (table === 'photo_ratings') {
        builder = builder
          .addColumn('rating', 'integer', (c) => c.notNull())
          .addCheckConstraint('photo_ratings_range', sql`rating between 1 and 5`)
      }
      await builder.addPrimaryKeyConstraint(`${table}_pk`, ['photo_id', 'user_id']).execute()
    }

    await db.schema
      .createTable('photo_comments')
      .addColumn('id', key, (c) => c.primaryKey())
      .addColumn('photo_id', key, (c) => c.notNull().references('photos.id').onDelete('cascade'))
      .addColumn('author_id', key, (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute()
    await db.schema
      .createIndex('photo_comments_photo_created')
      .on('photo_comments')
      .columns(['photo_id', 'created_at', 'id'])
      .execute()
  },
}
