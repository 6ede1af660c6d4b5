import type {
  AlbumRecord,
  CommentRecord,
  OwnerRecord,
  PhotoRecord,
  RetainedBlobRecord,
} from '../domain/types.js'

/**
 * Where photo, album and owner records live. Implemented by `@darkroom/storage`
 * (`KyselyMetadataStore` on SQLite or Postgres) and by `MemoryMetadataStore` in
 * `@darkroom/core/testing`; all pass `describeMetadataStoreContract`.
 *
 * Conventions for every method:
 * - lookups (`get*`, `find*`) return `null` (or leave an id out of a list) for a missing row;
 * - commands on a missing row (`update*`, `delete*` by id) throw `DarkroomError('NOT_FOUND')`;
 * - a unique-index violation becomes `DarkroomError('CONFLICT')` with the vendor error as cause;
 * - any other failure propagates unchanged.
 */

export type PhotoSort = 'uploaded' | 'taken' | 'filename' | 'size' | 'rating' | 'position'
export type SortOrder = 'asc' | 'desc'

/** The last row of the previous page; the next page starts strictly after it. */
export interface PhotoKeyset {
  /** `sortValue(record, sort)` of that row. */
  value: string | number
  id: string
}

export interface PhotoQuery {
  ownerId: string
  /** Omitted: every album and none; `null`: only photos outside any album. */
  albumId?: string | null
  category?: string
  hidden?: boolean
  /** Default `false`: pending photos are stored but not listed. */
  pending?: boolean
  /** Default `false`: the trash is listed only when asked for (`true` lists only the trash). */
  trashed?: boolean
  /** Case-insensitive substring of filename or description (`%` and `_` match literally). */
  search?: string
  sort: PhotoSort
  order: SortOrder
  limit: number
  offset?: number
  after?: PhotoKeyset
  /** Count the rows matching the filters (default true); false skips the count (keyset pages). */
  count?: boolean
}

export interface PhotoPage {
  items: PhotoRecord[]
  /** Rows matching the filters, ignoring limit, offset and keyset; null when `count: false`. */
  total: number | null
}

/** Fields of a photo that may change after ingest. */
export type PhotoPatch = Partial<
  Pick<
    PhotoRecord,
    | 'albumId'
    | 'category'
    | 'filename'
    | 'description'
    | 'isPublic'
    | 'hidden'
    | 'pending'
    | 'deletedAt'
    | 'position'
    | 'postId'
    | 'width'
    | 'height'
    | 'orientation'
    | 'manualDimensions'
    | 'variants'
    | 'updatedAt'
  >
>

/** The counters `incrementPhotoCounters` may change. */
export const PHOTO_COUNTERS = [
  'views',
  'downloads',
  'likes',
  'ratingSum',
  'ratingCount',
  'commentCount',
] as const

export type PhotoCounter = (typeof PHOTO_COUNTERS)[number]

export type AlbumPatch = Partial<
  Pick<AlbumRecord, 'title' | 'description' | 'photoCap' | 'coverPhotoId' | 'updatedAt'>
>

/** A photo of an album whose bytes its owner already has outside any album. */
export interface ChecksumClash {
  inAlbum: PhotoRecord
  /** The owner's photo outside any album with the same checksum. */
  outside: PhotoRecord
}

export interface AlbumWithCount extends AlbumRecord {
  /** Photos in the album that are not in the trash (pending ones count: they hold a place). */
  photoCount: number
}

export interface MetadataOps {
  // ---- photos ----
  /**
   * Inserts a new photo. Throws `CONFLICT` when the owner already has a photo with the same
   * checksum in the same album (trashed ones included), or the id exists.
   */
  insertPhoto(photo: PhotoRecord): Promise<void>
  /** The photo whatever its state (pending, hidden, trashed), or null. */
  getPhoto(id: string): Promise<PhotoRecord | null>
  /** The photos that exist among `ids`, in no particular order. */
  getPhotos(ids: readonly string[]): Promise<PhotoRecord[]>
  /**
   * The photos whose `originalKey` is among `keys`, trashed and pending included, in no
   * particular order. A copy shares its source's blobs (its keys included), so one key may be
   * named by several rows: this is how a delete and the orphan sweep tell whether a blob is still
   * in use. Duplicate keys are allowed; an empty list finds nothing.
   */
  findPhotosByOriginalKey(keys: readonly string[]): Promise<PhotoRecord[]>
  /**
   * Inside a transaction: the photo, locked against concurrent writers until the transaction
   * ends (Postgres `FOR UPDATE`: a concurrent delete either commits first, and this returns null,
   * or waits). Null when missing.
   */
  lockPhoto(id: string): Promise<PhotoRecord | null>
  /** The owner's photo with this checksum in this album (`null` album: outside any), trashed included. */
  findPhotoByChecksum(
    ownerId: string,
    albumId: string | null,
    checksum: string,
  ): Promise<PhotoRecord | null>
  /** One page; ties on the sort value are broken by id in the same direction. */
  listPhotos(query: PhotoQuery): Promise<PhotoPage>
  /** Applies the patch and returns the row after it. Throws `NOT_FOUND`, or `CONFLICT` on a unique index. */
  updatePhoto(id: string, patch: PhotoPatch): Promise<PhotoRecord>
  /** Adds (or with a negative delta subtracts) to counters atomically. Throws `NOT_FOUND`. */
  incrementPhotoCounters(
    id: string,
    deltas: Partial<Record<PhotoCounter, number>>,
  ): Promise<PhotoRecord>
  /** Removes the row and its likes, ratings and comments. Throws `NOT_FOUND`. */
  deletePhoto(id: string): Promise<void>
  /** Photos in the album that are not in the trash. */
  countAlbumPhotos(albumId: string): Promise<number>
  /** Sum of `size` of every photo of the owner, trash and pending included. */
  sumOwnerBytes(ownerId: string): Promise<number>
  /** The greatest position among the owner's photos in that album (`null`: outside any), or null. */
  getLastPosition(ownerId: string, albumId: string | null): Promise<string | null>
  /**
   * The position nearest to `position` in the given direction in that album, skipping
   * `excludeId`; null when there is none.
   */
  getAdjacentPosition(args: {
    ownerId: string
    albumId: string | null
    position: string
    direction: 'before' | 'after'
    excludeId: string
  }): Promise<string | null>
  /**
   * Up to `limit` photos of that album (`null`: outside any) nearest to `position` in the given
   * direction, strictly past it, nearest first, skipping `excludeId`, whatever their state
   * (trashed and pending photos hold their places): their ids and positions, to re-space keys.
   * A `null` position starts from the album's start (`after`) or end (`before`).
   */
  listAdjacentPositions(args: {
    ownerId: string
    albumId: string | null
    position: string | null
    direction: 'before' | 'after'
    excludeId: string
    limit: number
  }): Promise<Array<{ id: string; position: string }>>
  /** Pending photos created before `cutoff`, oldest first. */
  listPendingBefore(cutoff: Date, limit: number): Promise<PhotoRecord[]>
  /** Photos in the trash since before `cutoff` (`deletedAt < cutoff`), longest there first. */
  listTrashedBefore(cutoff: Date, limit: number): Promise<PhotoRecord[]>
  /** Photos ordered by id, starting after `afterId`, for scans (repair); `ownerId` narrows. */
  scanPhotos(args: { ownerId?: string; afterId?: string; limit: number }): Promise<PhotoRecord[]>

  // ---- blobs kept on purpose ----
  /**
   * Records blobs a hard delete leaves in place (`preserveOnDisk`), so that the orphan sweep
   * spares them. Idempotent: a key recorded already keeps its first record.
   */
  retainBlobs(blobs: readonly RetainedBlobRecord[]): Promise<void>
  /** Which of `keys` are recorded by `retainBlobs`, in no particular order. */
  findRetainedBlobs(keys: readonly string[]): Promise<string[]>

  // ---- albums ----
  /** Throws `CONFLICT` if the id exists. */
  insertAlbum(album: AlbumRecord): Promise<void>
  getAlbum(id: string): Promise<AlbumRecord | null>
  /**
   * Inside a transaction: the album, locked against concurrent writers until the transaction
   * ends (Postgres `FOR UPDATE`; SQLite holds the write lock already). Null when missing.
   */
  lockAlbum(id: string): Promise<AlbumRecord | null>
  /** The owner's albums, oldest first, with their photo counts. */
  listAlbums(ownerId: string): Promise<AlbumWithCount[]>
  /** Throws `NOT_FOUND`. */
  updateAlbum(id: string, patch: AlbumPatch): Promise<AlbumRecord>
  /**
   * The album's photos whose checksum their owner already has outside any album, each with that
   * photo (trashed and pending ones included on both sides): the rows `deleteAlbum` would refuse
   * to move out. Empty for a missing album.
   */
  listChecksumClashes(albumId: string): Promise<ChecksumClash[]>
  /**
   * Removes the album; its photos stay, outside any album. Throws `NOT_FOUND`, or `CONFLICT`
   * (changing nothing) when a photo's checksum is outside any album already (see
   * `listChecksumClashes`).
   */
  deleteAlbum(id: string): Promise<void>

  // ---- owners ----
  getOwner(ownerId: string): Promise<OwnerRecord | null>
  /** Inside a transaction: the owner row, created with defaults when missing, and locked. */
  lockOwner(ownerId: string): Promise<OwnerRecord>
  /** Creates or replaces the owner's row. */
  upsertOwner(owner: OwnerRecord): Promise<void>

  // ---- reactions ----
  /** Records or withdraws a like; true when something changed (idempotent). */
  setLike(photoId: string, userId: string, liked: boolean): Promise<boolean>
  /** Records the user's rating 1-5; returns the rating it replaced, or null. */
  setRating(photoId: string, userId: string, rating: number): Promise<number | null>
  insertComment(comment: CommentRecord): Promise<void>
  /** Oldest first. */
  listComments(photoId: string, limit: number): Promise<CommentRecord[]>
}

export interface MetadataStore extends MetadataOps {
  /**
   * Runs `fn` in one transaction: every write inside commits together or not at all. Writers
   * that lock the same album or owner (`lockAlbum`, `lockOwner`) run one after the other, so a
   * cap checked inside holds at commit. Use the `tx` handed in, not the store, inside `fn`.
   * Not re-entrant. An adapter may run `fn` again when the database aborts the transaction as a
   * deadlock victim: keep side effects (blobs, events) outside it.
   */
  transaction<T>(fn: (tx: MetadataOps) => Promise<T>): Promise<T>
  /** Brings the schema up to date. Idempotent; `createDarkroom` calls it. */
  migrate(): Promise<void>
  /** Releases connections. Idempotent. */
  close(): Promise<void>
}
