import { sql, type Kysely } from 'kysely'
import type { SqlDialectName } from '../schema.js'
import type { MetadataMigration } from './index.js'

/**
 * What listing a large album needs (issue 6):
 *
 * - `photo_counts`: how many photos (and bytes) each owner has per album (`album_key`), pending
 *   state and trash state, kept by triggers on `photos` in the same transaction as the write.
 *   `total` of an unfiltered album or library listing, an album's count for its cap, the counts of
 *   `albums.list` and the bytes an owner's quota is checked against become a few primary-key
 *   rows instead of a scan of every photo, and can never drift: every insert, delete and update
 *   of those columns goes through the triggers, whatever wrote it (the store, a CLI, a bulk load).
 * - Album-scoped indexes for the `taken`, `filename` and `uploaded` sorts (the `position` one
 *   already is): without `album_key` in the index, a page of one album scanned the owner's whole
 *   library in sort order, skipping the other albums' rows.
 */
export const listing: MetadataMigration = {
  name: '0003-listing',
  async up(db: Kysely<any>, dialect: SqlDialectName) {
    const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`

    await db.schema
      .createTable('photo_counts')
      .addColumn('owner_id', key, (c) => c.notNull())
      .addColumn('album_key', key, (c) => c.notNull())
      .addColumn('pending', 'boolean', (c) => c.notNull())
      .addColumn('trashed', 'boolean', (c) => c.notNull())
      .addColumn('n', 'bigint', (c) => c.notNull())
      .addColumn('bytes', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('photo_counts_pk', ['owner_id', 'album_key', 'pending', 'trashed'])
      .execute()
    await sql`insert into photo_counts (owner_id, album_key, pending, trashed, n, bytes)
      select owner_id, album_key, pending, deleted_at is not null, count(*), sum(size)
      from photos group by owner_id, album_key, pending, deleted_at is not null`.execute(db)
    for (const statement of dialect === 'postgres' ? postgresTriggers : sqliteTriggers) {
      await sql.raw(statement).execute(db)
    }

    const sorts: [string, string][] = [
      ['photos_owner_album_taken', 'taken_sort'],
      ['photos_owner_album_filename', 'filename'],
      ['photos_owner_album_created', 'created_at'],
    ]
    for (const [name, column] of sorts) {
      await db.schema
        .createIndex(name)
        .on('photos')
        .columns(['owner_id', 'album_key', column, 'id'])
        .execute()
    }
  },
}

// The count row a photo belongs to, as `(owner_id, album_key, pending, trashed)` values.
const row = (r: 'new' | 'old') =>
  `${r}.owner_id, ${r}.album_key, ${r}.pending, ${r}.deleted_at is not null`
const increment = `insert into photo_counts (owner_id, album_key, pending, trashed, n, bytes)
  values (${row('new')}, 1, new.size)
  on conflict (owner_id, album_key, pending, trashed)
  do update set n = photo_counts.n + 1, bytes = photo_counts.bytes + new.size;`
const decrement = `update photo_counts set n = n - 1, bytes = bytes - old.size
  where owner_id = old.owner_id and album_key = old.album_key and pending = old.pending
    and trashed = (old.deleted_at is not null);`
// An update moves a photo between count rows only when one of these changes.
const moved = `old.owner_id <> new.owner_id or old.album_key <> new.album_key
  or old.pending <> new.pending or (old.deleted_at is null) <> (new.deleted_at is null)
  or old.size <> new.size`

const sqliteTriggers = [
  `create trigger photo_counts_insert after insert on photos begin ${increment} end`,
  `create trigger photo_counts_delete after delete on photos begin ${decrement} end`,
  `create trigger photo_counts_update
    after update of owner_id, album_key, pending, deleted_at, size on photos when ${moved} begin ${decrement} ${increment} end`,
]

// `search_path from current`: the function finds the store's schema whoever writes the row.
const postgresTriggers = [
  `create function photo_counts_apply() returns trigger language plpgsql
  set search_path from current as $$
  begin
    if tg_op = 'UPDATE' and not (${moved}) then return null; end if;
    if tg_op in ('UPDATE', 'DELETE') then ${decrement} end if;
    if tg_op in ('UPDATE', 'INSERT') then ${increment} end if;
    return null;
  end $$`,
  `create trigger photo_counts_apply
    after insert or delete or update of owner_id, album_key, pending, deleted_at, size on photos
    for each row execute function photo_counts_apply()`,
]
