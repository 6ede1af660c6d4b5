import type { DarkroomConfig } from '../config.js'
import type { Album, Photo, PhotoRecord, PhotoVariantUrls, StoredVariant } from './types.js'
import type { AlbumWithCount, PhotoCounter } from '../ports/metadata-store.js'

/** The counters of a photo that nobody has seen yet: a new upload, a copy. */
export const NO_COUNTS: Readonly<Pick<PhotoRecord, PhotoCounter>> = Object.freeze({
  views: 0,
  downloads: 0,
  likes: 0,
  ratingSum: 0,
  ratingCount: 0,
  commentCount: 0,
})

const EXT_BY_MIME: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/avif': 'avif',
  'image/heic': 'heic',
  'image/heif': 'heif',
  'image/tiff': 'tif',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'video/quicktime': 'mov',
  'video/x-msvideo': 'avi',
}

export function extensionOf(mimeType: string): string {
  return EXT_BY_MIME[mimeType] ?? 'bin'
}

/** Other spellings of an extension that name the same format. */
const EXT_ALIASES: Record<string, readonly string[]> = { jpg: ['jpeg'], tif: ['tiff'] }

/**
 * The extension of a rendition's URL (`original.jpg`, `small.webp`): the one `toPhoto` hands out
 * and the one the bytes are served under. `variant` null: the original.
 */
export function renditionExtension(photo: PhotoRecord, variant: StoredVariant | null): string {
  if (!variant) return extensionOf(photo.mimeType)
  return variant.format === 'jpeg' ? 'jpg' : variant.format
}

/** Whether `ext` names the format of that rendition (its extension or another spelling of it). */
export function matchesRenditionExtension(
  photo: PhotoRecord,
  variant: StoredVariant | null,
  ext: string,
): boolean {
  const expected = renditionExtension(photo, variant)
  const given = ext.toLowerCase()
  return given === expected || (EXT_ALIASES[expected]?.includes(given) ?? false)
}

/** The URL path core hands out for a rendition; apps/server serves exactly these paths. */
export function variantUrl(config: DarkroomConfig, photoId: string, name: string, ext: string) {
  return `${config.publicBaseUrl}/photos/${photoId}/${name}.${ext}`
}

export function toPhoto(record: PhotoRecord, config: DarkroomConfig): Photo {
  const variants: PhotoVariantUrls = {
    original: variantUrl(config, record.id, 'original', renditionExtension(record, null)),
    small: null,
    medium: null,
    large: null,
  }
  for (const v of record.variants) {
    variants[v.name] = variantUrl(config, record.id, v.name, renditionExtension(record, v))
  }
  const { width, height } = record
  return {
    id: record.id,
    ownerId: record.ownerId,
    albumId: record.albumId,
    category: record.category,
    filename: record.filename,
    description: record.description,
    mimeType: record.mimeType,
    kind: record.kind,
    size: record.size,
    width,
    height,
    orientation: record.orientation,
    ratio: width && height ? Math.round((width / height) * 10_000) / 10_000 : null,
    takenAt: record.takenAt,
    exif: record.exif,
    hue: record.hue,
    thumbhash: record.thumbhash,
    checksum: record.checksum,
    isPublic: record.isPublic,
    hidden: record.hidden,
    pending: record.pending,
    deletedAt: record.deletedAt?.toISOString() ?? null,
    position: record.position,
    postId: record.postId,
    durationSec: record.durationSec,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    views: record.views,
    downloads: record.downloads,
    likes: record.likes,
    ratingAvg:
      record.ratingCount > 0
        ? Math.round((record.ratingSum / record.ratingCount) * 100) / 100
        : null,
    ratingCount: record.ratingCount,
    commentCount: record.commentCount,
    variants,
  }
}

export function toAlbum(record: AlbumWithCount): Album {
  return {
    id: record.id,
    ownerId: record.ownerId,
    title: record.title,
    description: record.description,
    photoCap: record.photoCap,
    coverPhotoId: record.coverPhotoId,
    photoCount: record.photoCount,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  }
}

/**
 * A filename as a person gave it, made safe to store and show: the last path segment only,
 * control and bidi-override characters removed, at most 255 characters; `upload` when nothing
 * is left. It is never used to build a path.
 */
export function sanitizeFilename(name: string): string {
  const last = name.split(/[\\/]/).pop() ?? ''
  // eslint-disable-next-line no-control-regex
  const cleaned = last.replace(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069\u200e\u200f]/g, '')
  const trimmed = cleaned.trim().slice(0, 255)
  return /^\.*$/.test(trimmed) ? 'upload' : trimmed
}
