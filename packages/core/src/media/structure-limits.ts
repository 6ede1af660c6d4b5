import { createInflate } from 'node:zlib'
import { formatBytes } from '../internal/bytes.js'
import { brokenStructureError, metadataLimitError } from './image-violations.js'
import { walkGif } from './internal/structure/gif.js'
import { walkHeif } from './internal/structure/heif.js'
import { walkJpeg } from './internal/structure/jpeg.js'
import type { StructureLimits } from './internal/structure/limits.js'
import { walkPng } from './internal/structure/png.js'
import { walkTiff } from './internal/structure/tiff.js'
import { StructureError, pastLimit, type Deflated } from './internal/structure/walk.js'
import { walkWebp } from './internal/structure/webp.js'

/**
 * The structural pre-scan: before libvips, libheif or exifr see an upload, its container is
 * walked (headers only, pure functions on the bytes) and refused when an ancillary structure is
 * past these bounds. A decoder trusts what a file declares: a 1.5 MB PNG whose `iCCP` profile
 * inflates to 1.5 GB, 400 000 text chunks, 300 000 TIFF directories, a GIF whose 35 bytes
 * declare 12000x12000, each cost gigabytes or seconds before the pixel limit is ever checked.
 *
 * The bounds are far above what cameras, phones and editors write (every file of the shared
 * corpus passes with a wide margin; the largest real values are noted beside each) and far below
 * what hurts. Compressed metadata (a PNG's `iCCP`, `zTXt`, `iTXt`) is inflated here, in libuv's
 * thread pool, counting bytes and stopping one byte past the bound: measuring it costs at most
 * the bound, never what the stream declares.
 */
export const STRUCTURE_LIMITS: Readonly<StructureLimits> = Object.freeze({
  /**
   * Chunks, segments, blocks or boxes of one container, image data included (a PNG writes an
   * IDAT every 8-64 KB: 50 MB of PNG is at most a few thousand).
   */
  containerBlocks: 100_000,
  /**
   * Metadata chunks or segments: PNG text chunks, JPEG APP and COM segments, WebP `ICCP`/`EXIF`/
   * `XMP ` chunks. A camera JPEG has 3-10; extended XMP of 10 MB is 160 APP1 segments.
   */
  metadataBlocks: 1_000,
  /** All metadata of one file as a decoder holds it, inflated: EXIF, XMP, ICC, text. */
  metadataBytes: 32 * 1024 * 1024,
  /**
   * One ICC profile, inflated: what 255 APP2 segments of a JPEG can carry (16 MB). Display
   * profiles are 0.5-4 KB; large printer profiles a few MB.
   */
  iccProfileBytes: 16 * 1024 * 1024,
  /** Images of one file: GIF and WebP frames, HEIF items (an iPhone HEIC has about 60). */
  images: 10_000,
  /** TIFF directories (pages, thumbnails, sub-IFDs), in a TIFF file or an EXIF block. */
  tiffIfds: 1_024,
  /** TIFF directory entries in all (a camera's EXIF has a few hundred). */
  tiffEntries: 100_000,
  /** Scans of a JPEG (a progressive one has about 10; each decodes the whole image again). */
  jpegScans: 256,
})

/**
 * Walks the container of `data` (as `format`) and refuses it with a `VALIDATION` error (reason
 * `corrupt`) whose message names the limit passed, or the way the file breaks its format.
 * Resolves when the structure is within `limits`. Formats without a walker pass.
 *
 * @example
 * await checkStructure(bytes, 'png', 'image/png')
 * // rejects: "The image/png file is refused before decoding: its ICC profile inflates to
 * //           more than 16 MB (the limit is 16 MB)."
 */
export async function checkStructure(
  data: Uint8Array,
  format: string,
  mimeType: string,
  limits: StructureLimits = STRUCTURE_LIMITS,
): Promise<void> {
  try {
    const exif = walk(data, format, limits)
    if (exif.block) walkTiff(exif.block, limits, 'EXIF')
    if (exif.deflated.length > 0) await measureDeflated(exif.deflated, exif.plainBytes, limits)
  } catch (error) {
    if (!(error instanceof StructureError)) throw error
    const { issue } = error
    if (issue.kind === 'corrupt') throw brokenStructureError(mimeType, issue.detail)
    throw metadataLimitError(mimeType, issue.found, issue.limit)
  }
}

interface Walked {
  block: Uint8Array | null
  deflated: Deflated[]
  plainBytes: number
}

function walk(data: Uint8Array, format: string, limits: StructureLimits): Walked {
  const none: Walked = { block: null, deflated: [], plainBytes: 0 }
  switch (format) {
    case 'png': {
      const png = walkPng(data, limits)
      return { block: png.exif, deflated: png.deflated, plainBytes: png.plainBytes }
    }
    case 'jpeg':
      return { ...none, block: walkJpeg(data, limits).exif }
    case 'webp':
      return { ...none, block: walkWebp(data, limits).exif }
    case 'gif':
      walkGif(data, limits)
      return none
    case 'tiff':
      walkTiff(data, limits)
      return none
    case 'heic':
    case 'heif':
    case 'avif':
      walkHeif(data, limits)
      return none
    default:
      return none
  }
}

/** Inflates each stream with a bound: an ICC profile by its own, all of them by the total. */
async function measureDeflated(
  streams: readonly Deflated[],
  plainBytes: number,
  limits: StructureLimits,
): Promise<void> {
  let total = plainBytes
  for (const stream of streams) {
    const left = limits.metadataBytes - total
    const own = stream.kind === 'icc' ? limits.iccProfileBytes : Infinity
    const size = await inflatedSize(stream.data, Math.min(left, own))
    if (size === null) {
      if (own <= left) {
        const limit = formatBytes(own)
        throw pastLimit(`its ICC profile inflates to more than ${limit}`, limit)
      }
      const limit = formatBytes(limits.metadataBytes)
      throw pastLimit(`its metadata inflates to more than ${limit}`, limit)
    }
    total += size
  }
}

/**
 * The inflated size of a zlib stream, or null once it passes `maxBytes` (the stream is stopped
 * there; nothing is kept). A stream that breaks off counts what came out before: decoders drop
 * such a chunk, and what they held of it is that much.
 */
export function inflatedSize(data: Uint8Array, maxBytes: number): Promise<number | null> {
  return new Promise((resolve) => {
    const inflate = createInflate({ chunkSize: 256 * 1024 })
    let size = 0
    let settled = false
    const settle = (value: number | null) => {
      if (settled) return
      settled = true
      inflate.destroy()
      resolve(value)
    }
    inflate.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) settle(null)
    })
    inflate.on('end', () => settle(size))
    inflate.on('error', () => settle(size))
    inflate.end(data)
  })
}
