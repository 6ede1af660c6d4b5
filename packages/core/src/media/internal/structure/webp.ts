import { formatBytes } from '../../../internal/bytes.js'
import type { StructureLimits } from './limits.js'
import { counted, fourcc, pastLimit, viewOf } from './walk.js'

/**
 * WebP: the RIFF chunks. Counts them all and the animation frames (`ANMF`), bounds the
 * metadata chunks (`ICCP`, `EXIF`, `XMP `) by number and bytes, and hands the EXIF chunk back for
 * the TIFF walk.
 */
export function walkWebp(data: Uint8Array, limits: StructureLimits): { exif: Uint8Array | null } {
  const view = viewOf(data)
  let exif: Uint8Array | null = null
  let chunks = 0
  let frames = 0
  let metadata = 0
  let metadataBytes = 0
  for (let at = 12; at + 8 <= data.length;) {
    const type = fourcc(data, at)
    const length = view.getUint32(at + 4, true)
    const body = data.subarray(at + 8, Math.min(at + 8 + length, data.length))
    counted(++chunks, limits.containerBlocks, 'WebP chunks')
    if (type === 'ANMF') counted(++frames, limits.images, 'WebP frames')
    if (type === 'ICCP' || type === 'EXIF' || type === 'XMP ') {
      counted(++metadata, limits.metadataBlocks, 'WebP metadata chunks')
      metadataBytes += body.length
      if (metadataBytes > limits.metadataBytes) {
        const limit = formatBytes(limits.metadataBytes)
        throw pastLimit(`it has more than ${limit} of metadata`, limit)
      }
      if (type === 'ICCP' && body.length > limits.iccProfileBytes) {
        const limit = formatBytes(limits.iccProfileBytes)
        throw pastLimit(`it has an ICC profile of more than ${limit}`, limit)
      }
      if (type === 'EXIF') exif ??= body
    }
    at += 8 + length + (length & 1)
  }
  return { exif }
}
