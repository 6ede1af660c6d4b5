import type { ColumnType } from 'kysely'

/**
 * The tables as kysely sees them through `CamelCasePlugin` (SQL names are snake_case). Types are
 * what either driver hands back: SQLite returns booleans as 0/1, and pg returns `bigint` and
 * `count(*)` as strings, so the store converts every row it reads.
 */
export type SqlDialectName = 'sqlite' | 'postgres'

/** SQLite stores 0/1, Postgres a boolean; both accept 0/1. */
export type BoolColumn = ColumnType<boolean | number, boolean | number, boolean | number>
/** Milliseconds since the epoch, or bytes: `bigint` (pg reads it as a string). */
export type BigintColumn = ColumnType<number | string, number, number>
export type NullableBigintColumn = ColumnType<number | string | null, number | null, number | null>
export type CounterColumn = ColumnType<number, number | undefined, number>

export interface PhotosTable {
  id: string
  ownerId: string
  albumId: string | null
  /** `albumId ?? ''`: lets the unique index treat "no album" as one album. */
  albumKey: string
  category: string | null
  filename: string
  /** `foldSearchText(filename)`, for `search`. */
  filenameSearch: string
  description: string
  descriptionSearch: string
  mimeType: string
  kind: string
  size: BigintColumn
  width: number | null
  height: number | null
  orientation: number | null
  /** Width and height set by hand (migration 0006). */
  manualDimensions: ColumnType<boolean | number, boolean | number | undefined, boolean | number>
  takenAt: string | null
  /** `takenSortKey(takenAt, createdAt)`, for the `taken` sort. */
  takenSort: string
  /** JSON of `PhotoExif`. */
  exif: string | null
  hue: string | null
  thumbhash: string | null
  checksum: string
  isPublic: BoolColumn
  hidden: BoolColumn
  pending: BoolColumn
  deletedAt: NullableBigintColumn
  position: string
  postId: string | null
  originalKey: string
  /** JSON of `StoredVariant[]`. */
  variants: string
  durationSec: number | null
  createdAt: BigintColumn
  updatedAt: BigintColumn
  views: CounterColumn
  downloads: CounterColumn
  likes: CounterColumn
  ratingSum: CounterColumn
  ratingCount: CounterColumn
  commentCount: CounterColumn
  /** `ratingAverage(ratingSum, ratingCount)`, for the `rating` sort. */
  ratingAvg: ColumnType<number, number | undefined, number>
}

export interface AlbumsTable {
  id: string
  ownerId: string
  title: string
  description: string
  photoCap: number | null
  coverPhotoId: string | null
  createdAt: BigintColumn
  updatedAt: BigintColumn
}

export interface OwnersTable {
  ownerId: string
  quotaBytes: NullableBigintColumn
  profilePhotoId: string | null
}

export interface PhotoLikesTable {
  photoId: string
  userId: string
}

export interface PhotoRatingsTable {
  photoId: string
  userId: string
  rating: number
}

export interface PhotoCommentsTable {
  id: string
  photoId: string
  authorId: string
  body: string
  createdAt: BigintColumn
}

export interface ApiKeysTable {
  id: string
  ownerId: string
  name: string
  prefix: string
  hash: string
  /** JSON array of scope names. */
  scopes: string
  createdAt: BigintColumn
  lastUsedAt: NullableBigintColumn
  revokedAt: NullableBigintColumn
}

export interface SignInCodesTable {
  id: string
  hash: string
  keyId: string
  ownerId: string
  createdAt: BigintColumn
  expiresAt: BigintColumn
  usedAt: NullableBigintColumn
}

export interface SessionsTable {
  id: string
  hash: string
  keyId: string | null
  ownerId: string
  /** JSON array of scope names (an API key's session uses the key's own). */
  scopes: string
  createdAt: BigintColumn
  expiresAt: BigintColumn
  revokedAt: NullableBigintColumn
}

export interface WebhooksTable {
  id: string
  ownerId: string
  url: string
  secret: string
  /** JSON array of event types; empty means all. */
  events: string
  createdAt: BigintColumn
}

export interface WebhookDeliveriesTable {
  id: string
  webhookId: string
  /** `DarkroomEvent.id`: unique per webhook, which makes enqueueing idempotent. */
  eventId: string
  /** JSON of the `DarkroomEvent`. */
  event: string
  status: string
  attempts: CounterColumn
  nextAttemptAt: BigintColumn
  lastError: string | null
  createdAt: BigintColumn
  deliveredAt: NullableBigintColumn
}

export interface UploadsTable {
  id: string
  ownerId: string
  state: string
  filename: string
  size: NullableBigintColumn
  albumId: string | null
  photoId: string | null
  error: string | null
  createdAt: BigintColumn
  updatedAt: BigintColumn
}

/**
 * Photos and their bytes per owner, album, pending and trash state, kept by triggers on `photos`
 * (migration 0003): listing totals, album counts and quota checks read here instead of scanning.
 */
export interface PhotoCountsTable {
  ownerId: string
  albumKey: string
  pending: BoolColumn
  trashed: BoolColumn
  n: BigintColumn
  bytes: BigintColumn
}

/** Blobs a hard delete with `preserveOnDisk` left in place; the orphan sweep spares them. */
export interface RetainedBlobsTable {
  key: string
  photoId: string
  ownerId: string
  retainedAt: BigintColumn
}

export interface Database {
  photos: PhotosTable
  photoCounts: PhotoCountsTable
  albums: AlbumsTable
  owners: OwnersTable
  photoLikes: PhotoLikesTable
  photoRatings: PhotoRatingsTable
  photoComments: PhotoCommentsTable
  apiKeys: ApiKeysTable
  signInCodes: SignInCodesTable
  sessions: SessionsTable
  webhooks: WebhooksTable
  webhookDeliveries: WebhookDeliveriesTable
  uploads: UploadsTable
  retainedBlobs: RetainedBlobsTable
}
