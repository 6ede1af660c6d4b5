import { isPhotoReceipt, type PhotoAnswer } from '@darkroom/core'

/** A photo as the albums API answers it: snake_case, the original as an absolute URL. */
export interface SeedPhoto {
  id: string
  user_id: string
  album_id: string | null
  blob_url: string
  file_name: string
  file_size: number
  file_type: string
  width: number | null
  height: number | null
  /** ISO 8601, UTC. */
  created_at: string
}

/**
 * What a write answers a caller without `photos.read` (a write-only key): the ids, no photo
 * data (core's `PhotoReceipt`).
 */
export interface SeedPhotoReceipt {
  id: string
  album_id: string | null
}

/**
 * The one translation of a Darkroom photo into the API's photo object. `blob_url` is the
 * original's URL (`photo.variants.original`) made absolute against the request's origin, unless
 * the engine's `publicBaseUrl` already made it absolute (a CDN, or the public origin behind a
 * proxy). `file_type` is the type sniffed from the bytes, never the client's claim.
 */
export function toSeedPhoto(photo: PhotoAnswer, requestUrl: URL): SeedPhoto | SeedPhotoReceipt {
  if (isPhotoReceipt(photo)) return { id: photo.id, album_id: photo.albumId }
  return {
    id: photo.id,
    user_id: photo.ownerId,
    album_id: photo.albumId,
    blob_url: new URL(photo.variants.original, requestUrl.origin).href,
    file_name: photo.filename,
    file_size: photo.size,
    file_type: photo.mimeType,
    width: photo.width,
    height: photo.height,
    created_at: photo.createdAt,
  }
}
