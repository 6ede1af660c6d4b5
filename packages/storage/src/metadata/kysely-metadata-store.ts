import {
  DarkroomError,
  type AlbumPatch,
  type AlbumRecord,
  type AlbumWithCount,
  type ChecksumClash,
  type CommentRecord,
  type MetadataOps,
  type MetadataStore,
  type OwnerRecord,
  type PhotoCounter,
  type PhotoPage,
  type PhotoPatch,
  type PhotoQuery,
  type PhotoRecord,
  type PhotoSort,
  type RetainedBlobRecord,
} from '@darkroom/core'
import {
  foldSearchText,
  PHOTO_COUNTERS,
  ratingAverage,
  takenSortKey,
  validatePhotoPaging,
} from '@darkroom/core/adapter-kit'
import {
  sql,
  type ExpressionBuilder,
  type Insertable,
  type Kysely,
  type Selectable,
  type SqlBool,
  type Expression,
  type Updateable,
} from 'kysely'
import { migrateToLatest } from './migrations/index.js'
import type { Database, PhotosTable, SqlDialectName } from './schema.js'
import { isForeignKeyViolation, isUniqueViolation } from '../internal/sql-errors.js'
import { KyselyServerStore } from '../server/kysely-server-store.js'

/**
 * `MetadataStore` over kysely, for SQLite and Postgres alike (the same queries; the dialect only
 * decides `FOR UPDATE` and how booleans are bound).
 *
 * - Sort values are stored beside the data they come from (`taken_sort`, `rating_avg`, the
 *   folded search text, `album_key`), computed by the same functions as the in-memory store, so
 *   that order, keysets and search agree with it to the bit.
 * - Keysets are row values, `(col, id) > (v, vid)`: both dialects seek the `(owner_id,
 *   [album_key,] col, id)` index straight to the keyset, so the last page of a million costs
 *   the first's. The OR form `col > v OR (col = v AND id > vid)` let SQLite's planner choose,
 *   on a million analysed rows, a multi-index OR with a sort, and Postgres no range at all.
 * - Unique violations become `CONFLICT`; a foreign key violation on a photo's album or a
 *   reaction's photo becomes `NOT_FOUND` naming it; the vendor error is the `cause`.
 * - SQLite needs `PRAGMA foreign_keys = ON` (deletes cascade to reactions); `createSqliteStore`
 *   sets it.
 */
export interface KyselyMetadataStoreOptions {
  /** The store owns it: `close()` destroys it. */
  db: Kysely<Database>
  dialect: SqlDialectName
}

type Db = Kysely<Database>
/**
 * The columns `toPhoto` reads. Listings select just these: the search and sort copies
 * (`filename_search`, `taken_sort`, ...) are never returned, and a page of rows costs mostly
 * the building of row objects, column by column.
 */
const PHOTO_COLUMNS = [
  'id',
  'ownerId',
  'albumId',
  'category',
  'filename',
  'description',
  'mimeType',
  'kind',
  'size',
  'width',
  'height',
  'orientation',
  'manualDimensions',
  'takenAt',
  'exif',
  'hue',
  'thumbhash',
  'checksum',
  'isPublic',
  'hidden',
  'pending',
  'deletedAt',
  'position',
  'postId',
  'originalKey',
  'variants',
  'durationSec',
  'createdAt',
  'updatedAt',
  'views',
  'downloads',
  'likes',
  'ratingSum',
  'ratingCount',
  'commentCount',
] as const satisfies readonly (keyof PhotosTable)[]
type PhotoRow = Pick<Selectable<PhotosTable>, (typeof PHOTO_COLUMNS)[number]>
type PhotoEb = ExpressionBuilder<Database, 'photos'>

const SORT_COLUMNS = {
  uploaded: 'createdAt',
  taken: 'takenSort',
  filename: 'filename',
  size: 'size',
  rating: 'ratingAvg',
  position: 'position',
} as const satisfies Record<PhotoSort, keyof PhotosTable>

// Stays well under SQLite's and Postgres' bound-parameter limits.
const IN_CHUNK = 500

class KyselyOps implements MetadataOps {
  readonly #db: Db
  protected readonly dialect: SqlDialectName
  readonly #inTransaction: boolean
  readonly #check: () => void

  constructor(db: Db, dialect: SqlDialectName, inTransaction: boolean, check: () => void) {
    this.#db = db
    this.dialect = dialect
    this.#inTransaction = inTransaction
    this.#check = check
  }

  protected get db(): Db {
    this.#check()
    return this.#db
  }

  // ---- photos ----

  async insertPhoto(photo: PhotoRecord): Promise<void> {
    try {
      await this.db.insertInto('photos').values(this.#photoRow(photo)).execute()
    } catch (error) {
      throw translate(error, {
        conflict:
          `Photo ${photo.id} exists, or owner ${photo.ownerId} already has checksum ` +
          `${photo.checksum} in ${albumName(photo.albumId)}.`,
        missing: photo.albumId === null ? undefined : ['Album', photo.albumId],
      })
    }
  }

  async getPhoto(id: string): Promise<PhotoRecord | null> {
    const row = await this.db
      .selectFrom('photos')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? toPhoto(row) : null
  }

  async getPhotos(ids: readonly string[]): Promise<PhotoRecord[]> {
    const unique = [...new Set(ids)]
    const out: PhotoRecord[] = []
    for (let i = 0; i < unique.length; i += IN_CHUNK) {
      const rows = await this.db
        .selectFrom('photos')
        .selectAll()
        .where('id', 'in', unique.slice(i, i + IN_CHUNK))
        .execute()
      out.push(...rows.map(toPhoto))
    }
    return out
  }

  async findPhotosByOriginalKey(keys: readonly string[]): Promise<PhotoRecord[]> {
    const unique = [...new Set(keys)]
    const out: PhotoRecord[] = []
    for (let i = 0; i < unique.length; i += IN_CHUNK) {
      const rows = await this.db
        .selectFrom('photos')
        .selectAll()
        .where('originalKey', 'in', unique.slice(i, i + IN_CHUNK))
        .execute()
      out.push(...rows.map(toPhoto))
    }
    return out
  }

  async lockPhoto(id: string): Promise<PhotoRecord | null> {
    let q = this.db.selectFrom('photos').selectAll().where('id', '=', id)
    // SQLite: the transaction began IMMEDIATE and holds the database's write lock already.
    if (this.dialect === 'postgres') q = q.forUpdate()
    const row = await q.executeTakeFirst()
    return row ? toPhoto(row) : null
  }

  async findPhotoByChecksum(
    ownerId: string,
    albumId: string | null,
    checksum: string,
  ): Promise<PhotoRecord | null> {
    const row = await this.db
      .selectFrom('photos')
      .selectAll()
      .where('ownerId', '=', ownerId)
      .where('albumKey', '=', albumId ?? '')
      .where('checksum', '=', checksum)
      .executeTakeFirst()
    return row ? toPhoto(row) : null
  }

  async listPhotos(query: PhotoQuery): Promise<PhotoPage> {
    validatePhotoPaging(query)
    const column = SORT_COLUMNS[query.sort]
    const { order, after } = query
    const filter = (eb: PhotoEb) => this.#photoFilter(eb, query)

    const total = query.count === false ? null : await this.#countPhotos(query)

    let page = this.db.selectFrom('photos').select(PHOTO_COLUMNS).where(filter)
    if (after) {
      page = page.where((eb) =>
        eb(eb.refTuple(column, 'id'), order === 'asc' ? '>' : '<', eb.tuple(after.value, after.id)),
      )
    }
    const rows = await page
      .orderBy(column, order)
      .orderBy('id', order)
      .limit(query.limit)
      .offset(query.offset ?? 0)
      .execute()
    return { items: rows.map(toPhoto), total }
  }

  async updatePhoto(id: string, patch: PhotoPatch): Promise<PhotoRecord> {
    const set = this.#photoPatch(patch)
    if (Object.keys(set).length === 0) return this.#requirePhoto(id)
    try {
      const row = await this.db
        .updateTable('photos')
        .set(set)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst()
      if (!row) throw DarkroomError.notFound('Photo', id)
      return toPhoto(row)
    } catch (error) {
      throw translate(error, {
        conflict:
          `Moving photo ${id} to ${albumName(patch.albumId ?? null)} ` +
          'would duplicate a checksum there.',
        missing: patch.albumId ? ['Album', patch.albumId] : undefined,
      })
    }
  }

  async incrementPhotoCounters(
    id: string,
    deltas: Partial<Record<PhotoCounter, number>>,
  ): Promise<PhotoRecord> {
    const set: Record<string, unknown> = {}
    for (const key of PHOTO_COUNTERS) {
      const delta = deltas[key]
      if (delta === undefined) continue
      if (!Number.isSafeInteger(delta)) throw invalid(key, `${key} delta must be an integer.`)
      set[key] = sql`${sql.ref(key)} + ${delta}`
    }
    if (Object.keys(set).length === 0) return this.#requirePhoto(id)
    // Every right-hand side reads the row as it was, in both dialects.
    const sum = sql`${sql.ref('ratingSum')} + ${deltas.ratingSum ?? 0}`
    const count = sql`${sql.ref('ratingCount')} + ${deltas.ratingCount ?? 0}`
    set.ratingAvg = sql`case when ${count} = 0 then 0
      else cast(${sum} as double precision) / (${count}) end`
    const row = await this.db
      .updateTable('photos')
      .set(set as Updateable<PhotosTable>)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst()
    if (!row) throw DarkroomError.notFound('Photo', id)
    return toPhoto(row)
  }

  async deletePhoto(id: string): Promise<void> {
    const result = await this.db.deleteFrom('photos').where('id', '=', id).executeTakeFirst()
    if (result.numDeletedRows === 0n) throw DarkroomError.notFound('Photo', id)
  }

  async countAlbumPhotos(albumId: string): Promise<number> {
    // From the trigger-kept counts (migration 0003): a cap check costs a lookup, not a count.
    const row = await this.db
      .selectFrom('photoCounts')
      .select((eb) => eb.fn.coalesce(eb.fn.sum('n'), sql.lit(0)).as('n'))
      .where('albumKey', '=', albumId)
      .where('trashed', '=', this.#bool(false))
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  async sumOwnerBytes(ownerId: string): Promise<number> {
    // Trigger-kept (migration 0003): a quota check reads the owner's few count rows.
    const row = await this.db
      .selectFrom('photoCounts')
      .select((eb) => eb.fn.coalesce(eb.fn.sum('bytes'), sql.lit(0)).as('n'))
      .where('ownerId', '=', ownerId)
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  async getLastPosition(ownerId: string, albumId: string | null): Promise<string | null> {
    const row = await this.db
      .selectFrom('photos')
      .select('position')
      .where('ownerId', '=', ownerId)
      .where('albumKey', '=', albumId ?? '')
      .orderBy('position', 'desc')
      .limit(1)
      .executeTakeFirst()
    return row?.position ?? null
  }

  async getAdjacentPosition(args: {
    ownerId: string
    albumId: string | null
    position: string
    direction: 'before' | 'after'
    excludeId: string
  }): Promise<string | null> {
    const after = args.direction === 'after'
    const row = await this.db
      .selectFrom('photos')
      .select('position')
      .where('ownerId', '=', args.ownerId)
      .where('albumKey', '=', args.albumId ?? '')
      .where('position', after ? '>' : '<', args.position)
      .where('id', '!=', args.excludeId)
      .orderBy('position', after ? 'asc' : 'desc')
      .limit(1)
      .executeTakeFirst()
    return row?.position ?? null
  }

  async listAdjacentPositions(args: {
    ownerId: string
    albumId: string | null
    position: string | null
    direction: 'before' | 'after'
    excludeId: string
    limit: number
  }): Promise<Array<{ id: string; position: string }>> {
    const after = args.direction === 'after'
    let q = this.db
      .selectFrom('photos')
      .select(['id', 'position'])
      .where('ownerId', '=', args.ownerId)
      .where('albumKey', '=', args.albumId ?? '')
      .where('id', '!=', args.excludeId)
    if (args.position !== null) q = q.where('position', after ? '>' : '<', args.position)
    return q
      .orderBy('position', after ? 'asc' : 'desc')
      .orderBy('id', after ? 'asc' : 'desc')
      .limit(args.limit)
      .execute()
  }

  async listPendingBefore(cutoff: Date, limit: number): Promise<PhotoRecord[]> {
    const rows = await this.db
      .selectFrom('photos')
      .selectAll()
      .where('pending', '=', this.#bool(true))
      .where('createdAt', '<', cutoff.getTime())
      .orderBy('createdAt')
      .orderBy('id')
      .limit(limit)
      .execute()
    return rows.map(toPhoto)
  }

  async listTrashedBefore(cutoff: Date, limit: number): Promise<PhotoRecord[]> {
    const rows = await this.db
      .selectFrom('photos')
      .selectAll()
      .where('deletedAt', 'is not', null)
      .where('deletedAt', '<', cutoff.getTime())
      .orderBy('deletedAt')
      .orderBy('id')
      .limit(limit)
      .execute()
    return rows.map(toPhoto)
  }

  async scanPhotos(args: {
    ownerId?: string
    afterId?: string
    limit: number
  }): Promise<PhotoRecord[]> {
    let q = this.db.selectFrom('photos').selectAll()
    if (args.ownerId !== undefined) q = q.where('ownerId', '=', args.ownerId)
    if (args.afterId !== undefined) q = q.where('id', '>', args.afterId)
    const rows = await q.orderBy('id').limit(args.limit).execute()
    return rows.map(toPhoto)
  }

  // ---- blobs kept on purpose ----

  async retainBlobs(blobs: readonly RetainedBlobRecord[]): Promise<void> {
    for (let i = 0; i < blobs.length; i += IN_CHUNK / 4) {
      await this.db
        .insertInto('retainedBlobs')
        .values(
          blobs.slice(i, i + IN_CHUNK / 4).map((b) => ({
            key: b.key,
            photoId: b.photoId,
            ownerId: b.ownerId,
            retainedAt: b.retainedAt.getTime(),
          })),
        )
        .onConflict((oc) => oc.column('key').doNothing())
        .execute()
    }
  }

  async findRetainedBlobs(keys: readonly string[]): Promise<string[]> {
    const unique = [...new Set(keys)]
    const out: string[] = []
    for (let i = 0; i < unique.length; i += IN_CHUNK) {
      const rows = await this.db
        .selectFrom('retainedBlobs')
        .select('key')
        .where('key', 'in', unique.slice(i, i + IN_CHUNK))
        .execute()
      out.push(...rows.map((row) => row.key))
    }
    return out
  }

  // ---- albums ----

  async insertAlbum(album: AlbumRecord): Promise<void> {
    try {
      await this.db
        .insertInto('albums')
        .values({
          id: album.id,
          ownerId: album.ownerId,
          title: album.title,
          description: album.description,
          photoCap: album.photoCap,
          coverPhotoId: album.coverPhotoId,
          createdAt: album.createdAt.getTime(),
          updatedAt: album.updatedAt.getTime(),
        })
        .execute()
    } catch (error) {
      throw translate(error, { conflict: `Album ${album.id} already exists.` })
    }
  }

  async getAlbum(id: string): Promise<AlbumRecord | null> {
    const row = await this.db
      .selectFrom('albums')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? toAlbum(row) : null
  }

  async lockAlbum(id: string): Promise<AlbumRecord | null> {
    let q = this.db.selectFrom('albums').selectAll().where('id', '=', id)
    // SQLite: the transaction began IMMEDIATE and holds the database's write lock already.
    if (this.dialect === 'postgres') q = q.forUpdate()
    const row = await q.executeTakeFirst()
    return row ? toAlbum(row) : null
  }

  async listAlbums(ownerId: string): Promise<AlbumWithCount[]> {
    const rows = await this.db
      .selectFrom('albums')
      .selectAll('albums')
      .select((eb) =>
        eb
          .selectFrom('photoCounts')
          .select((eb2) => eb2.fn.sum('photoCounts.n').as('n'))
          .whereRef('photoCounts.ownerId', '=', 'albums.ownerId')
          .whereRef('photoCounts.albumKey', '=', 'albums.id')
          .where('photoCounts.trashed', '=', this.#bool(false))
          .as('photoCount'),
      )
      .where('ownerId', '=', ownerId)
      .orderBy('createdAt')
      .orderBy('id')
      .execute()
    return rows.map((row) => ({ ...toAlbum(row), photoCount: Number(row.photoCount ?? 0) }))
  }

  async updateAlbum(id: string, patch: AlbumPatch): Promise<AlbumRecord> {
    const set: Updateable<Database['albums']> = {}
    if (patch.title !== undefined) set.title = patch.title
    if (patch.description !== undefined) set.description = patch.description
    if (patch.photoCap !== undefined) set.photoCap = patch.photoCap
    if (patch.coverPhotoId !== undefined) set.coverPhotoId = patch.coverPhotoId
    if (patch.updatedAt !== undefined) set.updatedAt = patch.updatedAt.getTime()
    if (Object.keys(set).length === 0) {
      const album = await this.getAlbum(id)
      if (!album) throw DarkroomError.notFound('Album', id)
      return album
    }
    const row = await this.db
      .updateTable('albums')
      .set(set)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst()
    if (!row) throw DarkroomError.notFound('Album', id)
    return toAlbum(row)
  }

  async listChecksumClashes(albumId: string): Promise<ChecksumClash[]> {
    // Through the unique index (owner_id, album_key, checksum) on the outside side.
    const pairs = await this.db
      .selectFrom('photos as inAlbum')
      .innerJoin('photos as outside', (join) =>
        join
          .onRef('outside.ownerId', '=', 'inAlbum.ownerId')
          .onRef('outside.checksum', '=', 'inAlbum.checksum')
          .on('outside.albumKey', '=', ''),
      )
      .select(['inAlbum.id as inAlbumId', 'outside.id as outsideId'])
      .where('inAlbum.albumId', '=', albumId)
      .orderBy('inAlbum.id')
      .execute()
    if (pairs.length === 0) return []
    const rows = await this.getPhotos(pairs.flatMap((p) => [p.inAlbumId, p.outsideId]))
    const byId = new Map(rows.map((row) => [row.id, row]))
    return pairs.flatMap((p) => {
      const inAlbum = byId.get(p.inAlbumId)
      const outside = byId.get(p.outsideId)
      return inAlbum && outside ? [{ inAlbum, outside }] : []
    })
  }

  async deleteAlbum(id: string): Promise<void> {
    // The foreign key's SET NULL would leave album_key behind: move the photos out first.
    await this.#atomic(async (db) => {
      try {
        await db
          .updateTable('photos')
          .set({ albumId: null, albumKey: '' })
          .where('albumId', '=', id)
          .execute()
      } catch (error) {
        throw translate(error, {
          conflict:
            `Album ${id} holds a photo whose checksum its owner already has ` +
            'outside any album.',
        })
      }
      const result = await db.deleteFrom('albums').where('id', '=', id).executeTakeFirst()
      if (result.numDeletedRows === 0n) throw DarkroomError.notFound('Album', id)
    })
  }

  // ---- owners ----

  async getOwner(ownerId: string): Promise<OwnerRecord | null> {
    const row = await this.db
      .selectFrom('owners')
      .selectAll()
      .where('ownerId', '=', ownerId)
      .executeTakeFirst()
    return row ? toOwner(row) : null
  }

  async lockOwner(ownerId: string): Promise<OwnerRecord> {
    const db = this.db
    await db
      .insertInto('owners')
      .values({ ownerId, quotaBytes: null, profilePhotoId: null })
      .onConflict((oc) => oc.column('ownerId').doNothing())
      .execute()
    let q = db.selectFrom('owners').selectAll().where('ownerId', '=', ownerId)
    if (this.dialect === 'postgres') q = q.forUpdate()
    return toOwner(await q.executeTakeFirstOrThrow())
  }

  async upsertOwner(owner: OwnerRecord): Promise<void> {
    const values = {
      ownerId: owner.ownerId,
      quotaBytes: owner.quotaBytes,
      profilePhotoId: owner.profilePhotoId,
    }
    await this.db
      .insertInto('owners')
      .values(values)
      .onConflict((oc) =>
        oc.column('ownerId').doUpdateSet({
          quotaBytes: values.quotaBytes,
          profilePhotoId: values.profilePhotoId,
        }),
      )
      .execute()
  }

  // ---- reactions ----

  async setLike(photoId: string, userId: string, liked: boolean): Promise<boolean> {
    const db = this.db
    if (liked) {
      try {
        const result = await db
          .insertInto('photoLikes')
          .values({ photoId, userId })
          .onConflict((oc) => oc.columns(['photoId', 'userId']).doNothing())
          .executeTakeFirst()
        return Number(result.numInsertedOrUpdatedRows ?? 0) > 0
      } catch (error) {
        throw translate(error, { missing: ['Photo', photoId] })
      }
    }
    const result = await db
      .deleteFrom('photoLikes')
      .where('photoId', '=', photoId)
      .where('userId', '=', userId)
      .executeTakeFirst()
    if (result.numDeletedRows > 0n) return true
    await this.#requirePhoto(photoId)
    return false
  }

  async setRating(photoId: string, userId: string, rating: number): Promise<number | null> {
    if (!Number.isInteger(rating) || rating < 1 || rating > 5) {
      throw invalid('rating', `A rating is an integer from 1 to 5, got ${rating}.`)
    }
    return this.#atomic(async (db) => {
      let q = db
        .selectFrom('photoRatings')
        .select('rating')
        .where('photoId', '=', photoId)
        .where('userId', '=', userId)
      if (this.dialect === 'postgres') q = q.forUpdate()
      const previous = await q.executeTakeFirst()
      try {
        await db
          .insertInto('photoRatings')
          .values({ photoId, userId, rating })
          .onConflict((oc) => oc.columns(['photoId', 'userId']).doUpdateSet({ rating }))
          .execute()
      } catch (error) {
        throw translate(error, { missing: ['Photo', photoId] })
      }
      return previous ? Number(previous.rating) : null
    })
  }

  async insertComment(comment: CommentRecord): Promise<void> {
    try {
      await this.db
        .insertInto('photoComments')
        .values({
          id: comment.id,
          photoId: comment.photoId,
          authorId: comment.authorId,
          body: comment.body,
          createdAt: comment.createdAt.getTime(),
        })
        .execute()
    } catch (error) {
      throw translate(error, {
        conflict: `Comment ${comment.id} already exists.`,
        missing: ['Photo', comment.photoId],
      })
    }
  }

  async listComments(photoId: string, limit: number): Promise<CommentRecord[]> {
    const rows = await this.db
      .selectFrom('photoComments')
      .selectAll()
      .where('photoId', '=', photoId)
      .orderBy('createdAt')
      .orderBy('id')
      .limit(limit)
      .execute()
    return rows.map((row) => ({
      id: row.id,
      photoId: row.photoId,
      authorId: row.authorId,
      body: row.body,
      createdAt: new Date(Number(row.createdAt)),
    }))
  }

  // ---- internals ----

  /** Runs `fn` atomically: in the current transaction, or in one of its own. */
  async #atomic<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const db = this.db
    if (this.#inTransaction) return fn(db)
    return db.transaction().execute(fn)
  }

  async #requirePhoto(id: string): Promise<PhotoRecord> {
    const photo = await this.getPhoto(id)
    if (!photo) throw DarkroomError.notFound('Photo', id)
    return photo
  }

  // Both dialects accept 0/1 for a boolean; better-sqlite3 refuses JavaScript booleans.
  #bool(value: boolean): boolean | number {
    return this.dialect === 'sqlite' ? (value ? 1 : 0) : value
  }

  /**
   * `total` of a listing, exact as of this statement. Filtered by album (or not), pending and
   * trash only, it sums rows of `photo_counts`, which triggers keep in step with `photos` in the
   * writing transaction (migration 0003): one row for an album, one per album for the whole
   * library, whatever the album's size. A category, hidden or search filter counts the matching
   * rows instead.
   */
  async #countPhotos(query: PhotoQuery): Promise<number> {
    if (query.category !== undefined || query.hidden !== undefined || query.search !== undefined) {
      const row = await this.db
        .selectFrom('photos')
        .select((eb) => eb.fn.countAll().as('n'))
        .where((eb) => this.#photoFilter(eb, query))
        .executeTakeFirstOrThrow()
      return Number(row.n)
    }
    let counts = this.db
      .selectFrom('photoCounts')
      .select((eb) => eb.fn.coalesce(eb.fn.sum('n'), sql.lit(0)).as('n'))
      .where('ownerId', '=', query.ownerId)
      .where('pending', '=', this.#bool(query.pending ?? false))
      .where('trashed', '=', this.#bool(query.trashed ?? false))
    if (query.albumId !== undefined) counts = counts.where('albumKey', '=', query.albumId ?? '')
    const row = await counts.executeTakeFirstOrThrow()
    return Number(row.n)
  }

  #photoFilter(eb: PhotoEb, query: PhotoQuery): Expression<SqlBool> {
    const where: Expression<SqlBool>[] = [eb('ownerId', '=', query.ownerId)]
    if (query.albumId !== undefined) where.push(eb('albumKey', '=', query.albumId ?? ''))
    if (query.category !== undefined) where.push(eb('category', '=', query.category))
    if (query.hidden !== undefined) where.push(eb('hidden', '=', this.#bool(query.hidden)))
    where.push(eb('pending', '=', this.#bool(query.pending ?? false)))
    where.push(eb('deletedAt', query.trashed ? 'is not' : 'is', null))
    if (query.search !== undefined) {
      const pattern = `%${escapeLike(foldSearchText(query.search))}%`
      where.push(
        eb.or([
          sql<SqlBool>`${sql.ref('filenameSearch')} like ${pattern} escape '\\'`,
          sql<SqlBool>`${sql.ref('descriptionSearch')} like ${pattern} escape '\\'`,
        ]),
      )
    }
    return eb.and(where)
  }

  #photoRow(p: PhotoRecord): Insertable<PhotosTable> {
    return {
      id: p.id,
      ownerId: p.ownerId,
      albumId: p.albumId,
      albumKey: p.albumId ?? '',
      category: p.category,
      filename: p.filename,
      filenameSearch: foldSearchText(p.filename),
      description: p.description,
      descriptionSearch: foldSearchText(p.description),
      mimeType: p.mimeType,
      kind: p.kind,
      size: p.size,
      width: p.width,
      height: p.height,
      orientation: p.orientation,
      manualDimensions: this.#bool(p.manualDimensions),
      takenAt: p.takenAt,
      takenSort: takenSortKey(p.takenAt, p.createdAt),
      exif: p.exif === null ? null : JSON.stringify(p.exif),
      hue: p.hue,
      thumbhash: p.thumbhash,
      checksum: p.checksum,
      isPublic: this.#bool(p.isPublic),
      hidden: this.#bool(p.hidden),
      pending: this.#bool(p.pending),
      deletedAt: p.deletedAt?.getTime() ?? null,
      position: p.position,
      postId: p.postId,
      originalKey: p.originalKey,
      variants: JSON.stringify(p.variants),
      durationSec: p.durationSec,
      createdAt: p.createdAt.getTime(),
      updatedAt: p.updatedAt.getTime(),
      views: p.views,
      downloads: p.downloads,
      likes: p.likes,
      ratingSum: p.ratingSum,
      ratingCount: p.ratingCount,
      commentCount: p.commentCount,
      ratingAvg: ratingAverage(p.ratingSum, p.ratingCount),
    }
  }

  #photoPatch(patch: PhotoPatch): Updateable<PhotosTable> {
    const set: Updateable<PhotosTable> = {}
    if (patch.albumId !== undefined) {
      set.albumId = patch.albumId
      set.albumKey = patch.albumId ?? ''
    }
    if (patch.category !== undefined) set.category = patch.category
    if (patch.filename !== undefined) {
      set.filename = patch.filename
      set.filenameSearch = foldSearchText(patch.filename)
    }
    if (patch.description !== undefined) {
      set.description = patch.description
      set.descriptionSearch = foldSearchText(patch.description)
    }
    if (patch.isPublic !== undefined) set.isPublic = this.#bool(patch.isPublic)
    if (patch.hidden !== undefined) set.hidden = this.#bool(patch.hidden)
    if (patch.pending !== undefined) set.pending = this.#bool(patch.pending)
    if (patch.deletedAt !== undefined) set.deletedAt = patch.deletedAt?.getTime() ?? null
    if (patch.position !== undefined) set.position = patch.position
    if (patch.postId !== undefined) set.postId = patch.postId
    if (patch.width !== undefined) set.width = patch.width
    if (patch.height !== undefined) set.height = patch.height
    if (patch.orientation !== undefined) set.orientation = patch.orientation
    if (patch.manualDimensions !== undefined) {
      set.manualDimensions = this.#bool(patch.manualDimensions)
    }
    if (patch.variants !== undefined) set.variants = JSON.stringify(patch.variants)
    if (patch.updatedAt !== undefined) set.updatedAt = patch.updatedAt.getTime()
    return set
  }
}

/**
 * @example
 * const db = new Kysely<Database>({ dialect, plugins: [new CamelCasePlugin()] })
 * const store = new KyselyMetadataStore({ db, dialect: 'postgres' })
 * await store.migrate()
 */
export class KyselyMetadataStore extends KyselyOps implements MetadataStore {
  /**
   * The server's records (API keys, webhooks, uploads) in the same database: `migrate()` creates
   * their tables too, and `close()` closes them with the rest.
   */
  readonly server: KyselyServerStore
  readonly #root: Db
  readonly #state: { closed: boolean }

  constructor(options: KyselyMetadataStoreOptions) {
    if (!options?.db) throw new Error('KyselyMetadataStore: the `db` option is required.')
    if (options.dialect !== 'sqlite' && options.dialect !== 'postgres') {
      throw new Error('KyselyMetadataStore: `dialect` must be "sqlite" or "postgres".')
    }
    const state = { closed: false }
    super(options.db, options.dialect, false, () => {
      if (state.closed) throw new Error('KyselyMetadataStore: the store is closed.')
    })
    this.#root = options.db
    this.#state = state
    this.server = new KyselyServerStore({ db: options.db, dialect: options.dialect })
  }

  /**
   * On Postgres a transaction the server aborts as a deadlock victim (40P01) or a serialization
   * failure (40001) runs again, up to 3 times in all: two writers that take the same rows in
   * opposite orders (moves between two albums in both directions update both albums' counts)
   * both complete. Services keep side effects (blobs, events) outside `fn`, so a rerun is safe.
   */
  async transaction<T>(fn: (tx: MetadataOps) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#transactionOnce(fn)
      } catch (error) {
        if (attempt >= 3 || !(this.dialect === 'postgres' && isTransient(error))) throw error
      }
    }
  }

  async #transactionOnce<T>(fn: (tx: MetadataOps) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      let active = true
      const tx = new KyselyOps(trx, this.dialect, true, () => {
        if (!active) throw new Error('KyselyMetadataStore: this transaction has ended.')
      })
      try {
        return await fn(tx)
      } finally {
        active = false
      }
    })
  }

  async migrate(): Promise<void> {
    await migrateToLatest(this.db.withoutPlugins(), this.dialect)
  }

  async close(): Promise<void> {
    if (this.#state.closed) return
    this.#state.closed = true
    await this.#root.destroy()
  }
}

/** A Postgres deadlock or serialization failure, directly or as the cause of a mapped error. */
function isTransient(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 3; depth++) {
    const code = (e as { code?: unknown }).code
    if (code === '40P01' || code === '40001') return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}

function toPhoto(row: PhotoRow): PhotoRecord {
  return {
    id: row.id,
    ownerId: row.ownerId,
    albumId: row.albumId,
    category: row.category,
    filename: row.filename,
    description: row.description,
    mimeType: row.mimeType,
    kind: row.kind as PhotoRecord['kind'],
    size: Number(row.size),
    width: row.width,
    height: row.height,
    orientation: row.orientation,
    manualDimensions: toBool(row.manualDimensions),
    takenAt: row.takenAt,
    exif: row.exif === null ? null : (JSON.parse(row.exif) as PhotoRecord['exif']),
    hue: row.hue,
    thumbhash: row.thumbhash,
    checksum: row.checksum,
    isPublic: toBool(row.isPublic),
    hidden: toBool(row.hidden),
    pending: toBool(row.pending),
    deletedAt: row.deletedAt === null ? null : new Date(Number(row.deletedAt)),
    position: row.position,
    postId: row.postId,
    originalKey: row.originalKey,
    variants: JSON.parse(row.variants) as PhotoRecord['variants'],
    durationSec: row.durationSec === null ? null : Number(row.durationSec),
    createdAt: new Date(Number(row.createdAt)),
    updatedAt: new Date(Number(row.updatedAt)),
    views: Number(row.views),
    downloads: Number(row.downloads),
    likes: Number(row.likes),
    ratingSum: Number(row.ratingSum),
    ratingCount: Number(row.ratingCount),
    commentCount: Number(row.commentCount),
  }
}

function toAlbum(row: Selectable<Database['albums']>): AlbumRecord {
  return {
    id: row.id,
    ownerId: row.ownerId,
    title: row.title,
    description: row.description,
    photoCap: row.photoCap === null ? null : Number(row.photoCap),
    coverPhotoId: row.coverPhotoId,
    createdAt: new Date(Number(row.createdAt)),
    updatedAt: new Date(Number(row.updatedAt)),
  }
}

function toOwner(row: Selectable<Database['owners']>): OwnerRecord {
  return {
    ownerId: row.ownerId,
    quotaBytes: row.quotaBytes === null ? null : Number(row.quotaBytes),
    profilePhotoId: row.profilePhotoId,
  }
}

function toBool(value: boolean | number): boolean {
  return value === true || value === 1
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`)
}

function albumName(albumId: string | null): string {
  return albumId === null ? 'no album' : `album ${albumId}`
}

function invalid(property: string, message: string): DarkroomError {
  return new DarkroomError('VALIDATION', message, { violations: [{ property, message }] })
}

/** A vendor error as the port reports it; anything unrecognised comes back unchanged. */
function translate(
  error: unknown,
  what: { conflict?: string; missing?: [string, string] | undefined },
): unknown {
  if (error instanceof DarkroomError) return error
  if (what.conflict && isUniqueViolation(error)) {
    return new DarkroomError('CONFLICT', what.conflict, { cause: error })
  }
  if (what.missing && isForeignKeyViolation(error)) {
    const [kind, id] = what.missing
    return new DarkroomError('NOT_FOUND', `${kind} ${JSON.stringify(id)} was not found.`, {
      cause: error,
    })
  }
  return error
}
