import { DarkroomError, MAX_AVIF_EDGE, MAX_TRANSFORM_EDGE, type Photo } from '@darkroom/core'
import type { ImageUrlFormat, SignImageUrls } from '@darkroom/trpc'
import { signSrcset } from './signed-urls.js'

/**
 * `photos.signUrls`' signer: the handler's secret and width ladder, handed to the router.
 *
 * Of the ladder (or the part asked for), the widths a rendition of this photo can reach are
 * kept: a rendition is never larger than the photo, at most 4096 px on its long edge and 2560
 * for AVIF (`/image`'s caps). When some were dropped, the largest width the photo can reach is
 * added as the top rung, so a srcset of a 1000-px photo ends at `1000w`, its full resolution,
 * rather than at 828. `auto` may become AVIF, but only for some browsers: it is fitted to 4096
 * (an AVIF client asking 3840 gets 2560, its cap).
 */
export function createImageUrlSigner(options: {
  secret: string
  ladder: readonly number[]
  /** Before each URL: the public base URL or the handler's base path. */
  prefix: string
}): SignImageUrls {
  const ladder = [...new Set(options.ladder)].sort((a, b) => a - b)
  return ({ photo, format, widths, expiresAt }) => {
    const asked = widths ?? ladder
    const outside = asked.filter((w) => !ladder.includes(w))
    if (outside.length > 0) {
      throw DarkroomError.validation([
        {
          property: 'widths',
          message: `${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} not in the signed widths (${ladder.join(', ')}).`,
        },
      ])
    }
    return signSrcset(
      options.secret,
      `/image/${photo.id}.${format}`,
      fittedWidths(asked, photo, format),
      expiresAt,
      options.prefix,
    )
  }
}

/** `widths` up to the largest width a rendition of `photo` reaches, which ends them if any were dropped. */
export function fittedWidths(
  widths: readonly number[],
  photo: Pick<Photo, 'width' | 'height'>,
  format: ImageUrlFormat,
): number[] {
  const sorted = [...new Set(widths)].sort((a, b) => a - b)
  if (!photo.width || !photo.height) return sorted
  const cap = format === 'avif' ? MAX_AVIF_EDGE : MAX_TRANSFORM_EDGE
  const scale = Math.min(1, cap / Math.max(photo.width, photo.height))
  const top = Math.max(1, Math.floor(photo.width * scale))
  const kept = sorted.filter((w) => w <= top)
  return kept.length < sorted.length && !kept.includes(top) ? [...kept, top] : kept
}
