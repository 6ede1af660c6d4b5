import sharp, { type Sharp } from 'sharp'
import { rgbaToThumbHash } from 'thumbhash'
import type { VariantFormat, VariantPreset, WatermarkConfig } from '../config.js'
import { DarkroomError } from '../errors.js'
import { corruptImageError, unsupportedCompressionError } from './image-violations.js'
import { decodeHeif } from './internal/heif-decoder.js'
import { HeifParseError, parseHeif } from './internal/isobmff.js'
import { makeWatermarkOverlay, type Overlay } from './internal/watermark-overlay.js'
import type { ImageProbe } from './probe-image.js'

/**
 * Variants from one decode. The source is decoded once, straight to the largest preset's size
 * (for JPEG, libjpeg's DCT scaling does part of that while decoding, when sharp allows it), turned
 * upright, and kept as a raw 8-bit sRGB bitmap; every smaller preset, the watermarked copies, the
 * thumbhash and the hue are derived from that bitmap, never from the original again.
 *
 * Orientation is applied once, from the probe: for JPEG/PNG/WebP/TIFF by the EXIF IFD0
 * Orientation (our own reading; libvips would clamp an invalid 42 to 8, and fall back to the
 * thumbnail's IFD1), as flips and quarter turns after the resize, where they are cheap and leave
 * shrink-on-load possible. For the HEIF family the decoder (libheif, in sharp for AVIF or in a
 * worker thread for HEVC) has applied `irot`/`imir` already, and the EXIF Orientation is ignored.
 */
export interface RenderedVariant {
  name: string
  format: VariantFormat
  mimeType: string
  width: number
  height: number
  data: Buffer
}

export interface RenderResult {
  variants: RenderedVariant[]
  /** Base64 ThumbHash of the image (alpha included). */
  thumbhash: string
  /** Dominant colour, `#rrggbb`. */
  hue: string
}

export interface RenderImageOptions {
  presets: Record<string, VariantPreset>
  /** Default format of presets that name none. */
  format: VariantFormat
  /** Default quality of presets that name none. */
  quality: number
  watermark: WatermarkConfig | null
}

interface Bitmap {
  data: Buffer
  width: number
  height: number
  channels: 1 | 2 | 3 | 4
}

const MIME_TYPES: Record<VariantFormat, string> = {
  webp: 'image/webp',
  jpeg: 'image/jpeg',
  avif: 'image/avif',
  png: 'image/png',
}

/** thumbhash accepts at most 100x100. */
const THUMB_EDGE = 100

let sharpConfigured = false

/**
 * Renders every preset (and watermarked copy) of a probed image. A source that fails to decode is
 * refused with a `VALIDATION` error (`corrupt`, or `unsupported_compression`); truncated files
 * are refused rather than stored half grey.
 *
 * @example
 * const probe = await probeImage(bytes, limits)
 * const { variants, thumbhash, hue } = await renderImage(bytes, probe, {
 *   presets: { small: { maxEdge: 320 }, large: { maxEdge: 2048 } },
 *   format: 'webp',
 *   quality: 80,
 *   watermark: null,
 * })
 */
export async function renderImage(
  data: Uint8Array,
  probe: ImageProbe,
  options: RenderImageOptions,
): Promise<RenderResult> {
  configureSharp()
  const presets = Object.entries(options.presets).sort(([, a], [, b]) => b.maxEdge - a.maxEdge)
  const largestEdge = Math.max(THUMB_EDGE, ...presets.map(([, preset]) => preset.maxEdge))
  const base = await decode(data, probe, largestEdge)

  const bitmaps = new Map<string, Bitmap>()
  for (const [name, preset] of presets) bitmaps.set(name, await fitBitmap(base, preset.maxEdge))

  const jobs: Promise<RenderedVariant>[] = presets.map(([name, preset]) =>
    encodeVariant(name, bitmaps.get(name)!, preset, options, null),
  )
  const { watermark } = options
  for (const [variantName, presetName] of Object.entries(watermark?.presets ?? {})) {
    const bitmap = bitmaps.get(presetName)
    const preset = options.presets[presetName]
    if (!watermark || !bitmap || !preset) continue
    const overlay = await makeWatermarkOverlay(watermark, bitmap.width, bitmap.height)
    jobs.push(encodeVariant(variantName, bitmap, preset, options, overlay))
  }

  const smallest = presets.length > 0 ? bitmaps.get(presets[presets.length - 1]![0])! : base
  const [variants, placeholder] = await Promise.all([Promise.all(jobs), placeholderOf(smallest)])
  return { variants, ...placeholder }
}

function configureSharp(): void {
  if (sharpConfigured) return
  // Each upload is decoded once; libvips' operation cache would only hold on to memory.
  sharp.cache(false)
  sharpConfigured = true
}

/** The source, upright, fitted inside `edge` x `edge` (never enlarged), as 8-bit sRGB. */
async function decode(data: Uint8Array, probe: ImageProbe, edge: number): Promise<Bitmap> {
  try {
    const pipeline = usesHeifWorker(data, probe)
      ? await decodeInWorker(data, probe, edge)
      : decodeWithSharp(data, probe, edge)
    const { data: pixels, info } = await pipeline
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true })
    return { data: pixels, width: info.width, height: info.height, channels: info.channels }
  } catch (error) {
    throw refusal(error, probe)
  }
}

function decodeWithSharp(data: Uint8Array, probe: ImageProbe, edge: number): Sharp {
  // failOn 'error' refuses truncated files instead of storing them half grey; the limit is the
  // probed size, a second line of defence should the bytes not be what was probed.
  const pipeline = sharp(data, {
    failOn: 'error',
    limitInputPixels: Math.max(1, probe.storedWidth * probe.storedHeight),
  }).resize(edge, edge, { fit: 'inside', withoutEnlargement: true })
  if (probe.format === 'heic' || probe.format === 'heif' || probe.format === 'avif') return pipeline
  // The box is square, so turning after the resize gives the same size as turning first. Called
  // after resize(), these run after the shrink (and keep JPEG shrink-on-load); flips come first.
  switch (probe.orientation) {
    case 2:
      return pipeline.flop()
    case 3:
      return pipeline.rotate(180)
    case 4:
      return pipeline.flip()
    case 5:
      return pipeline.flop().rotate(270)
    case 6:
      return pipeline.rotate(90)
    case 7:
      return pipeline.flop().rotate(90)
    case 8:
      return pipeline.rotate(270)
    default:
      return pipeline
  }
}

async function decodeInWorker(data: Uint8Array, probe: ImageProbe, edge: number) {
  const pixels = probe.storedWidth * probe.storedHeight
  const decoded = await decodeHeif(data, {
    maxPixels: pixels,
    timeoutMs: 20_000 + Math.ceil(pixels / 1_000_000) * 1_000,
  })
  const raw = { width: decoded.width, height: decoded.height, channels: 4 as const }
  const pipeline = sharp(decoded.pixels, { raw, limitInputPixels: false }).resize(edge, edge, {
    fit: 'inside',
    withoutEnlargement: true,
  })
  return decoded.hasAlpha ? pipeline : pipeline.removeAlpha()
}

/** HEVC-coded HEIF goes to libheif in a worker; AVIF (AV1) is decoded by sharp's libheif. */
function usesHeifWorker(data: Uint8Array, probe: ImageProbe): boolean {
  if (probe.format !== 'heic' && probe.format !== 'heif' && probe.format !== 'avif') return false
  try {
    const { codec } = parseHeif(data)
    if (codec !== 'other') return codec === 'hevc'
  } catch (error) {
    if (!(error instanceof HeifParseError)) throw error
  }
  return probe.format !== 'avif'
}

function refusal(error: unknown, probe: ImageProbe): DarkroomError {
  if (error instanceof DarkroomError) return error
  const message = error instanceof Error ? error.message : String(error)
  const unsupported = /([\w-]+(?: [\w-]+)*) compression support is not configured/i.exec(message)
  if (unsupported) {
    return unsupportedCompressionError(probe.mimeType, `${unsupported[1]} compression`)
  }
  return corruptImageError(probe.mimeType, error)
}

async function fitBitmap(bitmap: Bitmap, edge: number): Promise<Bitmap> {
  if (Math.max(bitmap.width, bitmap.height) <= edge) return bitmap
  const { data, info } = await fromBitmap(bitmap)
    .resize(edge, edge, { fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true })
  return { data, width: info.width, height: info.height, channels: info.channels }
}

function fromBitmap(bitmap: Bitmap): Sharp {
  const { width, height, channels } = bitmap
  return sharp(bitmap.data, { raw: { width, height, channels }, limitInputPixels: false })
}

async function encodeVariant(
  name: string,
  bitmap: Bitmap,
  preset: VariantPreset,
  options: RenderImageOptions,
  overlay: Overlay | null,
): Promise<RenderedVariant> {
  const format = preset.format ?? options.format
  const quality = preset.quality ?? options.quality
  let pipeline = fromBitmap(bitmap)
  if (overlay) pipeline = pipeline.composite([overlay])
  const hasAlpha = bitmap.channels === 2 || bitmap.channels === 4
  if (format === 'jpeg') {
    if (hasAlpha) pipeline = pipeline.flatten({ background: '#ffffff' })
    pipeline = pipeline.jpeg({ quality, progressive: true })
  } else if (format === 'webp') {
    pipeline = pipeline.webp({ quality })
  } else if (format === 'avif') {
    pipeline = pipeline.avif({ quality })
  } else {
    pipeline = pipeline.png()
  }
  const { data, info } = await pipeline.toBuffer({ resolveWithObject: true })
  return { name, format, mimeType: MIME_TYPES[format], width: info.width, height: info.height, data }
}

async function placeholderOf(bitmap: Bitmap): Promise<{ thumbhash: string; hue: string }> {
  const { data, info } = await fromBitmap(bitmap)
    .resize(THUMB_EDGE, THUMB_EDGE, { fit: 'inside', withoutEnlargement: true })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  const hash = rgbaToThumbHash(info.width, info.height, data)
  const { dominant } = await sharp(data, {
    raw: { width: info.width, height: info.height, channels: 4 },
  }).stats()
  const hex = [dominant.r, dominant.g, dominant.b]
    .map((value) => value.toString(16).padStart(2, '0'))
    .join('')
  return { thumbhash: Buffer.from(hash).toString('base64'), hue: `#${hex}` }
}
