import { parseHeif } from './isobmff.js'

/**
 * Finds the EXIF block (a TIFF structure) inside a container by walking its segment, chunk or box
 * headers only. Returns the bytes starting at the TIFF byte-order mark, or null. Never throws.
 */
export function locateExifBlock(data: Uint8Array, format: string): Uint8Array | null {
  try {
    const block = locate(data, format)
    return block ? stripExifPrefix(block) : null
  } catch {
    return null
  }
}

function locate(data: Uint8Array, format: string): Uint8Array | null {
  switch (format) {
    case 'jpeg':
      return jpegExif(data)
    case 'png':
      return pngExif(data)
    case 'webp':
      return webpExif(data)
    case 'heic':
    case 'heif':
    case 'avif':
      return parseHeif(data).exif
    case 'tiff':
      return data
    default:
      return null
  }
}

const EXIF_PREFIX = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00] // "Exif\0\0"

function stripExifPrefix(block: Uint8Array): Uint8Array {
  return EXIF_PREFIX.every((byte, i) => block[i] === byte) ? block.subarray(6) : block
}

function view(data: Uint8Array): DataView {
  return new DataView(data.buffer, data.byteOffset, data.byteLength)
}

/** APP1 "Exif" segment before the first scan. */
function jpegExif(data: Uint8Array): Uint8Array | null {
  const bytes = view(data)
  let at = 2
  while (at + 4 <= data.length) {
    if (data[at] !== 0xff) return null
    const marker = data[at + 1]!
    if (marker === 0xff) {
      at += 1
      continue
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2
      continue
    }
    if (marker === 0xda || marker === 0xd9) return null
    const length = bytes.getUint16(at + 2)
    const payload = data.subarray(at + 4, Math.min(at + 2 + length, data.length))
    if (marker === 0xe1 && EXIF_PREFIX.every((byte, i) => payload[i] === byte)) return payload
    at += 2 + length
  }
  return null
}

/** The eXIf chunk, wherever it sits (exiftool warns when it follows IDAT; libvips misses it). */
function pngExif(data: Uint8Array): Uint8Array | null {
  const bytes = view(data)
  let at = 8
  while (at + 8 <= data.length) {
    const length = bytes.getUint32(at)
    const type = String.fromCharCode(...data.subarray(at + 4, at + 8))
    if (type === 'eXIf') return data.subarray(at + 8, Math.min(at + 8 + length, data.length))
    if (type === 'IEND') return null
    at += 12 + length
  }
  return null
}

/** The EXIF chunk of a RIFF WebP. */
function webpExif(data: Uint8Array): Uint8Array | null {
  const bytes = view(data)
  let at = 12
  while (at + 8 <= data.length) {
    const type = String.fromCharCode(...data.subarray(at, at + 4))
    const length = bytes.getUint32(at + 4, true)
    if (type === 'EXIF') return data.subarray(at + 8, Math.min(at + 8 + length, data.length))
    at += 8 + length + (length & 1)
  }
  return null
}
