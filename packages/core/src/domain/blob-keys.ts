/**
 * Blob keys are made from photo ids only: `photos/<id>/original` and
 * `photos/<id>/<variant>.<ext>`, `<id>` being the photo whose ingest wrote them. A copy writes no
 * blob: its row names its source's keys, so every key of a row sits under the folder of that
 * row's `originalKey`. The orphan sweep and every delete read the photo id back from a key and
 * ask which rows name `originalKey(id)` (`MetadataOps.findPhotosByOriginalKey`).
 */
export function originalKey(photoId: string): string {
  return `photos/${photoId}/original`
}

export function variantKey(photoId: string, variant: string, ext: string): string {
  return `photos/${photoId}/${variant.toLowerCase()}.${ext}`
}

const KEY_PATTERN = /^photos\/([0-9a-f-]{8,64})\//

/** The photo id a key belongs to, or null for keys core did not make. */
export function photoIdOfKey(key: string): string | null {
  return KEY_PATTERN.exec(key)?.[1] ?? null
}
