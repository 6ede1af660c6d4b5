/**
 * Reads two tags of IFD0 straight from a TIFF structure (a TIFF file, or the EXIF block of a
 * JPEG/PNG/WebP/HEIF). Only IFD0 is looked at: the thumbnail IFD1 of some cameras carries its own
 * Orientation (Panasonic DMC-FZ30 says 8 there and 1 in IFD0), and libexif-based readers fall
 * back to it when IFD0 has none. The value is returned raw, unclamped (libvips clamps 42 to 8).
 */
export interface Ifd0Tags {
  /** Raw Orientation (0x0112), or null when absent or not an integer type. */
  orientation: number | null
  /** Raw Compression (0x0103), or null when absent. */
  compression: number | null
}

const TAG_COMPRESSION = 0x0103
const TAG_ORIENTATION = 0x0112
const TYPE_BYTE = 1
const TYPE_SHORT = 3
const TYPE_LONG = 4
const EXIF_PREFIX = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00] // "Exif\0\0"

/** Null when the bytes hold no readable TIFF header or IFD0. Never throws. */
export function readIfd0Tags(block: Uint8Array): Ifd0Tags | null {
  let start = 0
  if (EXIF_PREFIX.every((byte, i) => block[i] === byte)) start = EXIF_PREFIX.length
  if (block.length < start + 8) return null
  const view = new DataView(block.buffer, block.byteOffset + start, block.length - start)
  const order = view.getUint16(0)
  if (order !== 0x4949 && order !== 0x4d4d) return null
  const little = order === 0x4949
  // Classic TIFF only; BigTIFF (43) keeps its IFDs behind 64-bit offsets and is left to libvips.
  if (view.getUint16(2, little) !== 42) return null
  const ifdOffset = view.getUint32(4, little)
  if (ifdOffset < 8 || ifdOffset + 2 > view.byteLength) return null
  const count = view.getUint16(ifdOffset, little)
  const tags: Ifd0Tags = { orientation: null, compression: null }
  for (let i = 0; i < count; i++) {
    const entry = ifdOffset + 2 + i * 12
    if (entry + 12 > view.byteLength) break
    const tag = view.getUint16(entry, little)
    if (tag !== TAG_ORIENTATION && tag !== TAG_COMPRESSION) continue
    const value = readInlineInteger(view, entry, little)
    if (tag === TAG_ORIENTATION) tags.orientation = value
    else tags.compression = value
  }
  return tags
}

/** The first value of an entry whose integer payload fits in the 4-byte value field. */
function readInlineInteger(view: DataView, entry: number, little: boolean): number | null {
  const type = view.getUint16(entry + 2, little)
  const count = view.getUint32(entry + 4, little)
  if (count < 1) return null
  if (type === TYPE_SHORT) return view.getUint16(entry + 8, little)
  if (type === TYPE_LONG) return view.getUint32(entry + 8, little)
  if (type === TYPE_BYTE) return view.getUint8(entry + 8)
  return null
}

/** EXIF Orientation as Darkroom keeps it: 1..8 as found, the invalid 0 as 1, anything else null. */
export function normaliseOrientation(raw: number | null): number | null {
  if (raw === null) return null
  if (raw === 0) return 1
  return raw >= 1 && raw <= 8 ? raw : null
}
