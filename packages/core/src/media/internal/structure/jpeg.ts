import { formatBytes } from '../../../internal/bytes.js'
import type { StructureLimits } from './limits.js'
import { counted, pastLimit, viewOf } from './walk.js'

/**
 * JPEG: the marker segments up to the first scan (APPn, COM, tables, SOF), then the number of
 * scans. Every APP segment is read and kept by some decoder (EXIF, XMP, ICC in up to 255 APP2
 * pieces, Photoshop IRBs), so their number and bytes are bounded; the ICC pieces together by
 * `iccProfileBytes`. A progressive JPEG decodes the whole image once per scan: a few hundred
 * bytes a scan make a CPU bomb, so scans are bounded by `jpegScans`. They are counted by the
 * native search for the SOS marker (FF DA cannot occur inside entropy-coded data, where every
 * FF is followed by 00 or a restart marker), never by a JavaScript loop over the image data.
 */
export interface JpegStructure {
  /** The APP1 "Exif" payload, for the TIFF walk. */
  exif: Uint8Array | null
}

const EXIF = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00]
const ICC = 'ICC_PROFILE\0'
const SOS = Buffer.from([0xff, 0xda])

export function walkJpeg(data: Uint8Array, limits: StructureLimits): JpegStructure {
  const view = viewOf(data)
  let exif: Uint8Array | null = null
  let segments = 0
  let metadata = 0
  let metadataBytes = 0
  let iccBytes = 0
  let at = 2
  while (at + 4 <= data.length) {
    if (data[at] !== 0xff) return { exif } // lost: libjpeg will say what is wrong
    const marker = data[at + 1]!
    if (marker === 0xff) {
      at += 1
      continue
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      at += 2
      continue
    }
    if (marker === 0xd9) return { exif }
    counted(++segments, limits.containerBlocks, 'JPEG segments')
    const length = view.getUint16(at + 2)
    const payload = data.subarray(at + 4, Math.min(at + 2 + length, data.length))
    if ((marker >= 0xe0 && marker <= 0xef) || marker === 0xfe) {
      counted(++metadata, limits.metadataBlocks, 'JPEG APP and comment segments')
      metadataBytes += payload.length
      if (metadataBytes > limits.metadataBytes) {
        const limit = formatBytes(limits.metadataBytes)
        throw pastLimit(`it has more than ${limit} of APP and comment segments`, limit)
      }
      if (marker === 0xe1 && !exif && EXIF.every((byte, i) => payload[i] === byte)) {
        exif = payload.subarray(EXIF.length)
      }
      if (marker === 0xe2 && startsWith(payload, ICC)) {
        iccBytes += payload.length - ICC.length - 2
        if (iccBytes > limits.iccProfileBytes) {
          const limit = formatBytes(limits.iccProfileBytes)
          throw pastLimit(`it has an ICC profile of more than ${limit}`, limit)
        }
      }
    }
    if (marker === 0xda) {
      countScans(data, at, limits)
      return { exif }
    }
    at += 2 + length
  }
  return { exif }
}

function countScans(data: Uint8Array, firstScan: number, limits: StructureLimits): void {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  let scans = 0
  for (let at = firstScan; at >= 0; at = bytes.indexOf(SOS, at + 2)) {
    counted(++scans, limits.jpegScans, 'JPEG scans')
  }
}

function startsWith(payload: Uint8Array, prefix: string): boolean {
  for (let i = 0; i < prefix.length; i++) {
    if (payload[i] !== prefix.charCodeAt(i)) return false
  }
  return true
}
