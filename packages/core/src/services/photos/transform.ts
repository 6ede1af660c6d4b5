import type { AvifOptions, JpegOptions, PngOptions, WebpOptions } from 'sharp'
import { DarkroomError, type Violation } from '../../errors.js'
import type { Caller, PhotoRecord, StoredVariant } from '../../domain/types.js'
import { assertReadable, requireScope } from '../../internal/access.js'
import { readAll } from '../../internal/bytes.js'
import { loadSharp } from '../../media/internal/load-sharp.js'
import type { ServiceContext } from '../context.js'

export const TRANSFORM_FORMATS = ['jpeg', 'png', 'webp', 'avif'] as const
export type TransformFormat = (typeof TRANSFORM_FORMATS)[number]
/** The largest edge a transform may ask for, and the largest edge of any rendition. */
export const MAX_TRANSFORM_EDGE = 4096
/**
 * The largest edge of an AVIF rendition: AVIF costs far more CPU per pixel than the others (a
 * 4000-px AVIF took 85 s of CPU at sharp's default effort), so a larger request is scaled down
 * to fit, as a request larger than the photo is (never an error).
 */
export const MAX_AVIF_EDGE = 2560

/**
 * Encoder settings: low effort, bounded whatever the request. AVIF effort 2 of 0-9 (sharp's
 * default 4 costs about 8 times the CPU for 3% smaller files); WebP effort 2 of 0-6. A PNG is
 * lossless (zlib, cheap) unless a quality is asked for, which means palette quantisation: then
 * its effort is 1 of 1-10 (the default 7 costs about 8 times the CPU).
 */
const ENCODER_EFFORT = { avif: 2, webp: 2, pngPalette: 1 } as const

export interface TransformInput {
  id: string
  width?: number
  height?: number
  /** Fill the box exactly (centre crop) instead of fitting inside it. */
  crop?: boolean
  format: TransformFormat
  /** 1-100, default 80. A PNG is lossless without one; with one it is palette-quantised. */
  quality?: number
}

export interface TransformResult {
  data: Buffer
  mimeType: string
  width: number
  height: number
  /** The stored rendition the result was made from (`original`, `large`, ...). */
  source: string
}

const MIME: Record<TransformFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
}

/** Formats sharp's prebuilt libvips cannot decode: their variants are the source instead. */
const NOT_DECODABLE = new Set(['image/heic', 'image/heif'])

/**
 * A transform whose access check has passed and whose source is chosen, before any image work:
 * enough for a cache in front of it to answer (its validator) or to `render` it.
 */
export interface TransformPlan {
  /** The original's checksum, quoted: changes whenever the photo's content could. */
  etag: string
  lastModified: Date
  /** The stored rendition `render` resizes from (`original`, `large`, ...). */
  source: string
  /**
   * Renders in the engine's render slots (`transforms.concurrency`, apart from ingest's). When
   * `signal` is aborted before the image work starts (while waiting for a slot, or reading the
   * source), it rejects with the signal's reason and no work is done.
   */
  render(options?: { signal?: AbortSignal }): Promise<TransformResult>
}

/**
 * Plans a resize, crop and conversion of a photo from the best stored source: the smallest
 * variant that is still at least as large as the result (a 300-px thumbnail comes from the
 * 320-px variant, not from a 24 MP original), else the original. Never upscales.
 *
 * Visibility is `openBlob`'s (the owner's photo unless trashed, or a public one for anyone),
 * checked here on the metadata alone, so that a cache hit in front of the transform costs one
 * row read and no file access; `render` reads the chosen source at once, without a second
 * check. Renders run in their own limiter (`transforms.concurrency`), never in ingest's, so a
 * flood of renders cannot hold the slots uploads need; the result's edge is bounded (4096, AVIF
 * 2560) and the encoders' effort is low, whatever the request.
 */
export async function transform(
  ctx: ServiceContext,
  caller: Caller | null,
  input: TransformInput,
): Promise<TransformPlan> {
  const violations: Violation[] = []
  for (const property of ['width', 'height'] as const) {
    const value = input[property]
    if (
      value !== undefined &&
      (!Number.isInteger(value) || value < 1 || value > MAX_TRANSFORM_EDGE)
    ) {
      violations.push({
        property,
        message: `The ${property} is a whole number from 1 to ${MAX_TRANSFORM_EDGE}.`,
      })
    }
  }
  if (!TRANSFORM_FORMATS.includes(input.format)) {
    violations.push({
      property: 'format',
      message: `The format is one of ${TRANSFORM_FORMATS.join(', ')}.`,
    })
  }
  const quality = input.quality ?? 80
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    violations.push({
      property: 'quality',
      message: 'The quality is a whole number from 1 to 100.',
    })
  }
  if (violations.length > 0) throw DarkroomError.validation(violations)

  if (caller) requireScope(caller, 'photos.read')
  const photo = await ctx.store.getPhoto(input.id)
  assertReadable(caller, photo, input.id)
  const source = chooseSource(photo, input.width, input.height)
  const key = photo.variants.find((v) => v.name === source)?.key ?? photo.originalKey
  return {
    etag: `"${photo.checksum}"`,
    lastModified: photo.createdAt,
    source,
    render: (options) => render(ctx, input, { source, key }, options?.signal),
  }
}

async function render(
  ctx: ServiceContext,
  input: TransformInput,
  { source, key }: { source: string; key: string },
  signal: AbortSignal | undefined,
): Promise<TransformResult> {
  // The source is read once a slot is free: a waiting render holds no bytes.
  return ctx.renders.run(async () => {
    signal?.throwIfAborted()
    const stream = await ctx.blobs.get(key)
    if (!stream) throw new DarkroomError('NOT_FOUND', `The bytes of photo ${input.id} are missing.`)
    const bytes = await readAll(stream, Number.MAX_SAFE_INTEGER)
    signal?.throwIfAborted()
    const sharp = await loadSharp()
    ctx.renders.markStarted()
    const { data, info } = await sharp(bytes, {
      limitInputPixels: ctx.config.limits.maxInputPixels,
      failOn: 'none',
    })
      .rotate()
      .resize({ ...outputBox(input), withoutEnlargement: true })
      .toFormat(input.format, encoderOptions(input))
      .toBuffer({ resolveWithObject: true })
    return { data, mimeType: MIME[input.format], width: info.width, height: info.height, source }
  })
}

/**
 * The resize box, bounded to the format's largest edge: a crop of both sides keeps its aspect
 * and shrinks to fit; anything else fits inside the asked sides and the bound (a crop of one
 * side is that side's resize, so it is fitted too).
 */
export function outputBox(input: Pick<TransformInput, 'width' | 'height' | 'crop' | 'format'>): {
  width: number
  height: number
  fit: 'cover' | 'inside'
} {
  const bound = input.format === 'avif' ? MAX_AVIF_EDGE : MAX_TRANSFORM_EDGE
  const { width, height } = input
  if (input.crop && width && height) {
    const scale = Math.min(1, bound / Math.max(width, height))
    return {
      width: Math.max(1, Math.round(width * scale)),
      height: Math.max(1, Math.round(height * scale)),
      fit: 'cover',
    }
  }
  return {
    width: Math.min(width ?? bound, bound),
    height: Math.min(height ?? bound, bound),
    fit: 'inside',
  }
}

function encoderOptions(
  input: TransformInput,
): AvifOptions | WebpOptions | PngOptions | JpegOptions {
  const quality = input.quality ?? 80
  switch (input.format) {
    case 'avif':
      return { quality, effort: ENCODER_EFFORT.avif }
    case 'webp':
      return { quality, effort: ENCODER_EFFORT.webp }
    case 'png':
      return input.quality === undefined
        ? { palette: false }
        : { palette: true, quality, effort: ENCODER_EFFORT.pngPalette }
    case 'jpeg':
      return { quality }
  }
}

function chooseSource(photo: PhotoRecord, width?: number, height?: number): string {
  const displayW = photo.width ?? Number.MAX_SAFE_INTEGER
  const displayH = photo.height ?? Number.MAX_SAFE_INTEGER
  const fits = (v: StoredVariant) =>
    (!width || v.width >= Math.min(width, displayW)) &&
    (!height || v.height >= Math.min(height, displayH))
  const candidates = photo.variants
    .filter((v) => !v.name.startsWith('watermark'))
    .sort((a, b) => a.width * a.height - b.width * b.height)
  const best = candidates.find(fits)
  if (best && (width || height)) return best.name
  if (!NOT_DECODABLE.has(photo.mimeType) && photo.kind === 'image') return 'original'
  return candidates[candidates.length - 1]?.name ?? 'original'
}
