/**
 * Records as the metadata store keeps them, and the shapes core hands to its callers.
 * Timestamps are `Date` in records; `takenAt` stays a string because a camera's wall-clock
 * time with its own offset (or with none) is not an instant.
 */

export type Scope = 'photos.read' | 'photos.write' | 'admin'

/** Who is asking. Every operation takes one. */
export interface Caller {
  ownerId: string
  scopes: readonly string[]
  /**
   * One of many anonymous people behind a shared owner (guest uploads): what the owner already
   * holds is not theirs to learn. A duplicate of an owner's photo is skipped without naming it
   * (and one in the trash is not restored).
   */
  anonymous?: boolean
}

export type PhotoKind = 'image' | 'video'

export interface GpsPosition {
  lat: number
  lon: number
}

export interface PhotoExif {
  make: string | null
  model: string | null
  lens: string | null
  iso: number | null
  /** Exposure time in seconds (1/250 s is 0.004). */
  exposure: number | null
  fNumber: number | null
  /** Focal length in mm. */
  focalLength: number | null
  gps: GpsPosition | null
}

/** One stored rendition of a photo. `key` is the blob key. */
export interface StoredVariant {
  name: string
  key: string
  format: string
  mimeType: string
  width: number
  height: number
  size: number
}

export interface PhotoRecord {
  id: string
  ownerId: string
  albumId: string | null
  category: string | null
  filename: string
  description: string
  mimeType: string
  kind: PhotoKind
  size: number
  /** Displayed size, after orientation. Null when unknown (an older import); repair fills it. */
  width: number | null
  height: number | null
  /** EXIF Orientation 1-8 as found (HEIF: the rotation from `irot`, mapped to 1/6/3/8). */
  orientation: number | null
  /**
   * True once width and height were set by hand (`photos.update`): `repairDimensions` leaves
   * them as they are unless asked to override them.
   */
  manualDimensions: boolean
  /** `YYYY-MM-DDTHH:MM:SS` plus `±HH:MM` when the camera recorded its offset. */
  takenAt: string | null
  exif: PhotoExif | null
  hue: string | null
  thumbhash: string | null
  checksum: string
  isPublic: boolean
  hidden: boolean
  pending: boolean
  deletedAt: Date | null
  /** Fractional-index key: the order inside its album (or the owner's unfiled photos). */
  position: string
  /** External post id the photo is attached to (seed 000). */
  postId: string | null
  originalKey: string
  variants: StoredVariant[]
  /** Video duration in seconds; null for images. */
  durationSec: number | null
  createdAt: Date
  updatedAt: Date
  views: number
  downloads: number
  likes: number
  ratingSum: number
  ratingCount: number
  commentCount: number
}

export interface AlbumRecord {
  id: string
  ownerId: string
  title: string
  description: string
  photoCap: number | null
  coverPhotoId: string | null
  createdAt: Date
  updatedAt: Date
}

export interface OwnerRecord {
  ownerId: string
  /** Null means the configured default applies. */
  quotaBytes: number | null
  profilePhotoId: string | null
}

/**
 * A blob a hard delete left where it was on purpose (`preserveOnDisk`): no photo row references
 * it any more, and the orphan sweep leaves it alone.
 */
export interface RetainedBlobRecord {
  key: string
  /** The photo whose row was deleted. */
  photoId: string
  ownerId: string
  retainedAt: Date
}

export interface CommentRecord {
  id: string
  photoId: string
  authorId: string
  body: string
  createdAt: Date
}

/** URLs of every stored rendition, as handed to callers. */
export interface PhotoVariantUrls {
  original: string
  small: string | null
  medium: string | null
  large: string | null
  watermark?: string | null
  watermarkSmall?: string | null
  [name: string]: string | null | undefined
}

/** A photo as core returns it. */
export interface Photo {
  id: string
  ownerId: string
  albumId: string | null
  category: string | null
  filename: string
  description: string
  mimeType: string
  kind: PhotoKind
  size: number
  width: number | null
  height: number | null
  orientation: number | null
  /** width / height, rounded to 4 decimals; null when either is unknown. */
  ratio: number | null
  takenAt: string | null
  exif: PhotoExif | null
  hue: string | null
  thumbhash: string | null
  checksum: string
  isPublic: boolean
  hidden: boolean
  pending: boolean
  deletedAt: string | null
  position: string
  postId: string | null
  durationSec: number | null
  createdAt: string
  updatedAt: string
  views: number
  downloads: number
  likes: number
  ratingAvg: number | null
  ratingCount: number
  commentCount: number
  variants: PhotoVariantUrls
}

/**
 * What a caller without `photos.read` (a write-only key) is told about a photo it wrote: that
 * the write happened, and what it needs to go on (the id, the album, whether it is pending),
 * but no photo data. Photo data is everything read from the bytes or written about them: the
 * filename, description, category, post id, type, size, dimensions, orientation, EXIF (GPS),
 * takenAt, hue, thumbhash, checksum, variant URLs, counters, flags and timestamps. `withheld`
 * tells it from a `Photo` (which has no such field). See `photoAnswerFor`.
 */
export interface PhotoReceipt {
  id: string
  albumId: string | null
  pending: boolean
  withheld: true
}

/** A write's answer: the photo for a caller that may read it, a receipt otherwise. */
export type PhotoAnswer = Photo | PhotoReceipt

export interface Album {
  id: string
  ownerId: string
  title: string
  description: string
  photoCap: number | null
  coverPhotoId: string | null
  photoCount: number
  createdAt: string
  updatedAt: string
}
