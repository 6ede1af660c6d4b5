import { tooManyPixelsError } from '../../../media/image-violations.js'
import type { ServiceContext } from '../../context.js'
import { renderOptions } from './prepare-image.js'
import type { PreparedMedia } from './prepared-media.js'
import type { VideoBody } from './read-body.js'

/**
 * Probes a video where it lies, checks it is whole, extracts its poster frame and renders the
 * poster like a photo (variants, thumbhash, hue). Throws `VALIDATION` (`corrupt`,
 * `too_many_pixels`) for a file that cannot be a photo; the tool's own words stay in the error's
 * `cause`. The poster and its rendering run inside the engine's CPU limiter, like image work;
 * the poster is PNG by the `FrameExtractor` contract, so it is not sniffed.
 */
export async function prepareVideo(ctx: ServiceContext, body: VideoBody): Promise<PreparedMedia> {
  const { config, frameExtractor } = ctx
  const video = { path: body.path, mimeType: body.mimeType }
  const probe = await frameExtractor.probe(video)
  const maxInputPixels = config.limits.maxInputPixels
  if (probe.storedWidth * probe.storedHeight > maxInputPixels) {
    throw tooManyPixelsError(probe.storedWidth, probe.storedHeight, maxInputPixels)
  }
  await frameExtractor.checkIntegrity(video, probe)
  const rendered = await ctx.cpu.run(async () => {
    const poster = await frameExtractor.extractPoster(video, probe)
    const posterProbe = await ctx.media.probeImage(poster.data, {
      maxInputPixels,
      allowedMimeTypes: ['image/png'],
      mimeType: 'image/png',
    })
    return ctx.media.renderImage(poster.data, posterProbe, renderOptions(ctx))
  })
  return {
    mimeType: body.mimeType,
    kind: 'video',
    width: probe.width,
    height: probe.height,
    orientation: probe.orientation,
    takenAt: probe.takenAt,
    exif: null,
    hue: rendered.hue,
    thumbhash: rendered.thumbhash,
    durationSec: probe.durationSec,
    variants: rendered.variants,
    original: body.original,
  }
}
