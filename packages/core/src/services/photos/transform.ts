import sharp from 'sharp'
import { DarkroomError, type Violation } from '../../errors.js'
import type { Caller, PhotoRecord, StoredVariant } from '../../domain/types.js'
import { assertReadable, requireScope } from '../../internal/access.js'
import { readAll } from '../../internal/bytes.js'
import type { ServiceContext } from '../context.js'

export const TRANSFORM_FORMATS = ['jpeg', 'png', 'webp', 'avif'] as const
export type TransformFormat = (typeof TRANSFORM_FORMATS)[number]
/** The largest edge a transform may ask for. */
export const MAX_TRANSFORM_EDGE = 4096

export interface TransformInput {
  id: string
  width?: number
  height?: number
  /** Fill the box exactly (centre crop) instead of fitting inside it. */
  crop?: boolean
  format: TransformFormat
  /** 1-100, default 80. */
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
  render(): Promise<TransformResult>
}

/**
 * Plans a resize, crop and conversion of a photo from the best stored source: the smallest
 * variant that is still at least as large as the result (a 300-px thumbnail comes from the
 * 320-px variant, not from a 24 MP original), else the original. Never upscales.
 *
 * Visibility is `openBlob`'s (the owner's photo unless trashed, or a public one for anyone),
 * checked here on the metadata alone, so that a cache hit in front of the transform costs one
 * row read and no file access; `render` reads the chosen source at once, without a second
 * check. CPU work runs through the engine's limiter, so concurrent renders cannot take more
 * than its cores.
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
    render: () => render(ctx, input, { source, key }, quality),
  }
}

async function render(
  ctx: ServiceContext,
  input: TransformInput,
  { source, key }: { source: string; key: string },
  quality: number,
): Promise<TransformResult> {
  const stream = await ctx.blobs.get(key)
  if (!stream) throw new DarkroomError('NOT_FOUND', `The bytes of photo ${input.id} are missing.`)
  const bytes = await readAll(stream, Number.MAX_SAFE_INTEGER)
  const { data, info } = await ctx.cpu.run(() =>
    sharp(bytes, { limitInputPixels: ctx.config.limits.maxInputPixels, failOn: 'none' })
      .rotate()
      .resize({
        ...(input.width ? { width: input.width } : {}),
        ...(input.height ? { height: input.height } : {}),
        fit: input.crop ? 'cover' : 'inside',
        withoutEnlargement: true,
      })
      .toFormat(input.format, { quality })
      .toBuffer({ resolveWithObject: true }),
  )
  return { data, mimeType: MIME[input.format], width: info.width, height: info.height, source }
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
