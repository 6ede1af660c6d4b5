import type { Metadata } from 'sharp'
import {
  corruptImageError,
  invalidTypeError,
  tooManyFramesError,
  tooManyPixelsError,
  unsupportedCompressionError,
} from './image-violations.js'
import { locateExifBlock } from './internal/exif-block.js'
import { HeifParseError, parseHeif } from './internal/isobmff.js'
import { loadSharp } from './internal/load-sharp.js'
import { normaliseOrientation, readIfd0Tags } from './internal/tiff-ifd0.js'
import { sniffMimeType } from './sniff-mime-type.js'
import { checkStructure } from './structure-limits.js'

/**
 * Probing: what an upload is and how big it is, from its headers only, before any pixel is
 * decoded. A decompression bomb (a 1 KB AVIF that declares 17000x17000) is refused here from the
 * declared size, so sharp's `limitInputPixels` is only a second line of defence; a metadata bomb
 * (an ICC profile that inflates to 1.5 GB, 300 000 TIFF directories) by the structural pre-scan
 * (`checkStructure`), before sharp reads the header.
 *
 * Orientation and dimensions: `storedWidth`/`storedHeight` are the pixels as encoded; `width`/
 * `height` are what a viewer shows. For JPEG, PNG, WebP and TIFF the EXIF IFD0 Orientation 5-8
 * swaps them. For HEIC/HEIF/AVIF the decoder (libheif) applies the `irot` box itself, so the
 * displayed size follows `irot` only, and the EXIF Orientation inside a HEIF is reported but
 * never applied (an iPhone writes both, and applying both turns the photo twice).
 */
export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'avif' | 'heic' | 'heif' | 'tiff'

export interface ImageProbe {
  /** From the bytes (file-type), e.g. `image/jpeg`. */
  mimeType: string
  format: ImageFormat
  /** Pixels as stored. */
  storedWidth: number
  storedHeight: number
  /** As displayed, after EXIF orientation (JPEG/PNG/WebP/TIFF) or `irot` (HEIF family). */
  width: number
  height: number
  /** EXIF IFD0 Orientation 1-8 (0 read as 1), null when absent or invalid. */
  orientation: number | null
  /** HEIF `irot` rotation in degrees, anticlockwise; 0 for other formats. */
  rotation: 0 | 90 | 180 | 270
  /** Frames (GIF/WebP), pages (TIFF) or top-level images (HEIF); 1 for a still image. */
  pages: number
}

export interface ProbeImageOptions {
  maxInputPixels: number
  allowedMimeTypes: readonly string[]
  /**
   * The type already identified from these same bytes (by `sniffMimeType`, as ingest does once
   * per file); absent, the bytes are sniffed here.
   */
  mimeType?: string
}

export const FORMAT_BY_MIME_TYPE: Readonly<Record<string, ImageFormat>> = {
  'image/jpeg': 'jpeg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/avif': 'avif',
  'image/heic': 'heic',
  'image/heif': 'heif',
  'image/tiff': 'tiff',
}

const HEIF_FORMATS: ReadonlySet<ImageFormat> = new Set(['heic', 'heif', 'avif'])
const ANIMATED_FORMATS: ReadonlySet<ImageFormat> = new Set(['gif', 'webp'])

/** TIFF Compression 6: the 1992 JPEG-in-TIFF scheme that libtiff no longer decodes. */
const TIFF_OLD_JPEG = 6

interface Header {
  storedWidth: number
  storedHeight: number
  rotation: ImageProbe['rotation']
  /** Displayed size when the container states it (HEIF); otherwise derived from orientation. */
  display: { width: number; height: number } | null
  pages: number
  exif: Uint8Array | null
}

/**
 * Identifies and sizes an image from its headers, or refuses it with a `VALIDATION` error whose
 * violation reason is `invalid_type`, `too_many_pixels`, `corrupt` or `unsupported_compression`.
 *
 * @example
 * const probe = await probeImage(bytes, {
 *   maxInputPixels: config.limits.maxInputPixels,
 *   allowedMimeTypes: config.allowedMimeTypes,
 * })
 * // { mimeType: 'image/jpeg', format: 'jpeg', width: 4000, height: 6000, orientation: 6, ... }
 */
export async function probeImage(
  data: Uint8Array,
  options: ProbeImageOptions,
): Promise<ImageProbe> {
  const mimeType =
    options.mimeType ?? (await sniffMimeType(data))?.mimeType ?? 'application/octet-stream'
  const allowed = options.allowedMimeTypes.filter((type) => type in FORMAT_BY_MIME_TYPE)
  const format = FORMAT_BY_MIME_TYPE[mimeType]
  if (!format || !allowed.includes(mimeType)) throw invalidTypeError(mimeType, allowed)
  // Before any decoder: a metadata bomb costs a walk of its headers, not what it declares.
  await checkStructure(data, format, mimeType)

  const header = HEIF_FORMATS.has(format)
    ? await readHeifHeader(data, mimeType)
    : await readSharpHeader(data, mimeType, format)
  const { storedWidth, storedHeight } = header
  if (storedWidth * storedHeight > options.maxInputPixels) {
    throw tooManyPixelsError(storedWidth, storedHeight, options.maxInputPixels)
  }
  // An animation is as heavy as all its frames for whoever plays it: 5000 frames of 1000x1000
  // fit in 120 KB of GIF. Its frames count against the same limit.
  if (
    ANIMATED_FORMATS.has(format) &&
    storedWidth * storedHeight * header.pages > options.maxInputPixels
  ) {
    throw tooManyFramesError(storedWidth, storedHeight, header.pages, options.maxInputPixels)
  }

  const ifd0 = header.exif ? readIfd0Tags(header.exif) : null
  if (format === 'tiff' && ifd0?.compression === TIFF_OLD_JPEG) {
    throw unsupportedCompressionError(mimeType, 'old-style JPEG compression (TIFF Compression 6)')
  }
  const orientation = normaliseOrientation(ifd0?.orientation ?? null)
  const swapped = orientation !== null && orientation >= 5
  const display = header.display ?? {
    width: swapped ? storedHeight : storedWidth,
    height: swapped ? storedWidth : storedHeight,
  }
  return {
    mimeType,
    format,
    storedWidth,
    storedHeight,
    width: display.width,
    height: display.height,
    orientation,
    rotation: header.rotation,
    pages: header.pages,
  }
}

/** HEIF family: our own box parse; sharp (libheif) only when that fails. */
async function readHeifHeader(data: Uint8Array, mimeType: string): Promise<Header> {
  try {
    const layout = parseHeif(data)
    return {
      storedWidth: layout.width,
      storedHeight: layout.height,
      rotation: layout.rotation,
      display: { width: layout.displayWidth, height: layout.displayHeight },
      pages: Math.max(1, layout.topLevelImages),
      exif: layout.exif,
    }
  } catch (error) {
    if (!(error instanceof HeifParseError)) throw error
  }
  // libheif reports the size after `irot`, and no rotation: stored and displayed are the same.
  const metadata = await readMetadata(data, mimeType)
  return {
    storedWidth: metadata.width,
    storedHeight: metadata.height,
    rotation: 0,
    display: { width: metadata.width, height: metadata.height },
    pages: metadata.pages,
    exif: null,
  }
}

async function readSharpHeader(
  data: Uint8Array,
  mimeType: string,
  format: ImageFormat,
): Promise<Header> {
  const metadata = await readMetadata(data, mimeType)
  return {
    storedWidth: metadata.width,
    storedHeight: metadata.height,
    rotation: 0,
    display: null,
    pages: metadata.pages,
    exif: locateExifBlock(data, format),
  }
}

/** sharp's header read (libvips loads headers lazily; no pixel is decoded here). */
async function readMetadata(
  data: Uint8Array,
  mimeType: string,
): Promise<{ width: number; height: number; pages: number }> {
  let metadata: Metadata
  try {
    const sharp = await loadSharp()
    metadata = await sharp(data, { failOn: 'error', limitInputPixels: false }).metadata()
  } catch {
    throw corruptImageError(mimeType)
  }
  const { width, height } = metadata
  if (!width || !height) throw corruptImageError(mimeType)
  return { width, height, pages: metadata.pages ?? 1 }
}
