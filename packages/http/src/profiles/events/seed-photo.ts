import { isPhotoReceipt, type Photo, type PhotoAnswer } from '@darkroom/core'

/**
 * The one translation of a Darkroom photo into the events API's fields. An event is a Darkroom
 * album (`event_id`), a category is `category_id`, `is_hidden` is `hidden`, `captured_at` the
 * EXIF capture time, `thumbnail_url` the `small` variant (a video's comes from its poster frame).
 */

/** A photo as `GET /v1/photos/{id}` and the list answer it: full metadata. */
export interface SeedPhoto extends UploadedItem {
  event_id: string | null
  category_id: string | null
  mime_type: string
  kind: 'image' | 'video'
  width: number | null
  height: number | null
  is_hidden: boolean
  /** The original, full size. */
  url: string
  likes: number
  /** Mean of the ratings (1-5), null when nobody rated. */
  average_rating: number | null
  rating_count: number
  comment_count: number
  download_count: number
  view_count: number
  uploaded_at: string
  updated_at: string
}

/** A photo in the `uploaded` list of an upload answer, with the fields the seed shows. */
export interface UploadedItem {
  id: string
  filename: string
  thumbnail_url: string
  size: number
  captured_at: string | null
}

/**
 * What a write answers a caller without `photos.read` (a write-only key) in place of a photo or
 * an uploaded item: the ids, no photo data (core's `PhotoReceipt`).
 */
export interface SeedPhotoReceipt {
  id: string
  event_id: string | null
}

/** A file in the `skipped` list of an upload answer. */
export interface SkippedItem {
  filename: string
  /** `duplicate`, `invalid_type`, `too_large`, `too_many_pixels`, `corrupt`, ... */
  reason: string
  message: string
  /** For a duplicate: the photo that holds these bytes already. */
  existing_id?: string
}

export function toSeedPhoto(photo: Photo): SeedPhoto
export function toSeedPhoto(photo: PhotoAnswer): SeedPhoto | SeedPhotoReceipt
export function toSeedPhoto(photo: PhotoAnswer): SeedPhoto | SeedPhotoReceipt {
  if (isPhotoReceipt(photo)) return { id: photo.id, event_id: photo.albumId }
  return {
    ...toUploadedItem(photo),
    event_id: photo.albumId,
    category_id: photo.category,
    mime_type: photo.mimeType,
    kind: photo.kind,
    width: photo.width,
    height: photo.height,
    is_hidden: photo.hidden,
    url: photo.variants.original,
    likes: photo.likes,
    average_rating: photo.ratingAvg,
    rating_count: photo.ratingCount,
    comment_count: photo.commentCount,
    download_count: photo.downloads,
    view_count: photo.views,
    uploaded_at: photo.createdAt,
    updated_at: photo.updatedAt,
  }
}

export function toUploadedItem(photo: PhotoAnswer): UploadedItem | SeedPhotoReceipt {
  if (isPhotoReceipt(photo)) return { id: photo.id, event_id: photo.albumId }
  return {
    id: photo.id,
    filename: photo.filename,
    thumbnail_url: photo.variants.small ?? photo.variants.original,
    size: photo.size,
    captured_at: capturedAt(photo.takenAt),
  }
}

/** A skipped file: the engine's `SkippedFile`, or one the profile refused itself. */
export function toSkippedItem(skipped: {
  filename: string
  reason: string
  message: string
  existingId?: string
}): SkippedItem {
  const item: SkippedItem = {
    filename: skipped.filename,
    reason: skipped.reason,
    message: skipped.message,
  }
  if (skipped.existingId) item.existing_id = skipped.existingId
  return item
}

/**
 * The camera's time as Darkroom keeps it (wall clock, with the camera's offset when EXIF has
 * one), a UTC offset written `Z` as the seed writes it. Without an offset there is no `Z`: the
 * camera did not say which zone it was in, and inventing UTC would move the photo in time.
 */
function capturedAt(takenAt: string | null): string | null {
  return takenAt?.replace(/\+00:00$/, 'Z') ?? null
}
