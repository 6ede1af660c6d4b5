import type { PhotoExif, PhotoKind } from '../../../domain/types.js'
import type { RenderedVariant } from '../../../media/render-image.js'
import type { BlobBody } from '../../../ports/blob-store.js'

/** What ingest stores of a file, besides ids, counters and the caller's fields. */
export interface PreparedMedia {
  mimeType: string
  kind: PhotoKind
  width: number
  height: number
  orientation: number | null
  takenAt: string | null
  exif: PhotoExif | null
  hue: string
  thumbhash: string
  durationSec: number | null
  variants: RenderedVariant[]
  /** A fresh body for `blobs.put` of the original, byte for byte. */
  original(): BlobBody
}
