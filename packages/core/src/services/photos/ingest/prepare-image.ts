import type { ImageProbe } from '../../../media/probe-image.js'
import type { RenderImageOptions } from '../../../media/render-image.js'
import type { ServiceContext } from '../../context.js'
import type { PreparedMedia } from './prepared-media.js'
import type { ImageBody } from './read-body.js'

/**
 * Sizes an image from its headers, with the type identified already (no second sniff), inside
 * the engine's CPU limiter like every other image work. Refuses it with a `VALIDATION` error
 * (`invalid_type`, `too_many_pixels`, `corrupt`, `unsupported_compression`) before any pixel is
 * decoded: a decompression bomb costs nothing, a metadata bomb a walk of its headers.
 */
export function probeImageBody(ctx: ServiceContext, body: ImageBody): Promise<ImageProbe> {
  return ctx.cpu.run(() =>
    ctx.media.probeImage(body.bytes, {
      maxInputPixels: ctx.config.limits.maxInputPixels,
      allowedMimeTypes: ctx.config.allowedMimeTypes,
      mimeType: body.mimeType,
    }),
  )
}

/** What a decode of the probed image holds: its stored pixels as RGBA. */
export function decodeBytesOf(probe: ImageProbe): number {
  return probe.storedWidth * probe.storedHeight * 4
}

/**
 * Reads the EXIF and renders every variant, thumbhash and hue from one decode, inside the
 * engine's decode-memory budget (`limits.ingestMemoryBytes`, taken before a CPU slot so that a
 * file waiting for memory holds no core) and CPU limiter. Refuses (`VALIDATION`) an image that
 * fails to decode.
 */
export async function prepareImage(
  ctx: ServiceContext,
  image: { body: ImageBody; probe: ImageProbe },
): Promise<PreparedMedia> {
  const { body, probe } = image
  const { bytes } = body
  const [facts, rendered] = await ctx.decodeMemory.run(decodeBytesOf(probe), () =>
    ctx.cpu.run(() =>
      Promise.all([
        ctx.media.readExif(bytes),
        ctx.media.renderImage(bytes, probe, renderOptions(ctx)),
      ]),
    ),
  )
  return {
    mimeType: probe.mimeType,
    kind: 'image',
    width: probe.width,
    height: probe.height,
    orientation: probe.orientation,
    takenAt: facts.takenAt,
    exif: facts.exif,
    hue: rendered.hue,
    thumbhash: rendered.thumbhash,
    durationSec: null,
    variants: rendered.variants,
    original: () => bytes,
  }
}

/** The variant settings of the config, and the ports a render needs. */
export function renderOptions(ctx: ServiceContext): RenderImageOptions {
  const { variants, watermark } = ctx.config
  return {
    presets: variants.presets,
    format: variants.format,
    quality: variants.quality,
    effort: variants.effort,
    watermark,
    heifDecoder: ctx.heifDecoder,
    scratchSpace: ctx.scratchSpace,
  }
}
