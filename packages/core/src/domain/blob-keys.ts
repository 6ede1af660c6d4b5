/**
 * Blob keys are made from photo ids only: `photos/<id>/original` and
 * `photos/<id>/<variant>.<ext>`. The orphan sweep reads the photo id back from a key.
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
