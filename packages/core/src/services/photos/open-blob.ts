import type { Readable } from 'node:stream'
import { DarkroomError } from '../../errors.js'
import { matchesRenditionExtension, renditionExtension } from '../../domain/photo.js'
import type { Caller } from '../../domain/types.js'
import { assertReadable, requireScope } from '../../internal/access.js'
import type { ByteRange } from '../../ports/blob-store.js'
import type { ServiceContext } from '../context.js'

export interface OpenedBlob {
  stream: Readable
  /** Size of the whole blob. */
  size: number
  mimeType: string
  /** The extension of the rendition's URL (`jpg`, `webp`, ...). */
  extension: string
  /** Strong validator: the original's checksum, or the variant key (variants are immutable). */
  etag: string
  lastModified: Date
  width: number | null
  height: number | null
}

export interface OpenBlobInput {
  id: string
  /** `original` or a variant name (`small`, `medium`, `large`, `watermark`, ...). */
  variant: string
  /**
   * The extension the rendition was asked for (`original.png`): when given, it must name the
   * stored format of that rendition (`jpg` or `jpeg` for a JPEG), else `NOT_FOUND` naming the
   * right one. The URLs in `photo.variants` always match.
   */
  extension?: string
  range?: ByteRange
  /**
   * Default true: opening the whole original counts a download (see `openBlob`). False for a
   * request that sends no bytes (HEAD, a 304) or only looks at the size first.
   */
  countDownload?: boolean
}

/**
 * Opens a stored rendition for serving. Readable by the owner, or by anyone when `caller` is
 * null (an anonymous or signed-URL request) and the photo is public.
 *
 * A download is counted when the whole original goes out: no range, or a range from byte 0
 * through the last byte (`bytes=0-`, as players and browsers start). A partial range, even one
 * from byte 0 (`bytes=0-99`, a probe), never counts, nor does a variant: one complete transfer
 * is one download, however it was cut.
 */
export async function openBlob(
  ctx: ServiceContext,
  caller: Caller | null,
  input: OpenBlobInput,
): Promise<OpenedBlob> {
  if (caller) requireScope(caller, 'photos.read')
  const photo = await ctx.store.getPhoto(input.id)
  assertReadable(caller, photo, input.id)
  const isOriginal = input.variant === 'original'
  const variant = isOriginal ? null : photo.variants.find((v) => v.name === input.variant)
  if (!isOriginal && !variant) {
    throw new DarkroomError('NOT_FOUND', `Photo ${photo.id} has no variant "${input.variant}".`)
  }
  const mimeType = variant?.mimeType ?? photo.mimeType
  const extension = renditionExtension(photo, variant ?? null)
  if (
    input.extension !== undefined &&
    !matchesRenditionExtension(photo, variant ?? null, input.extension)
  ) {
    throw new DarkroomError(
      'NOT_FOUND',
      `Photo ${photo.id} has no ${input.variant}.${input.extension}: ` +
        `${input.variant} is ${mimeType}: use .${extension}.`,
    )
  }
  const key = variant?.key ?? photo.originalKey
  const info = await ctx.blobs.stat(key)
  const stream = info ? await ctx.blobs.get(key, input.range) : null
  if (!info || !stream)
    throw new DarkroomError('NOT_FOUND', `The bytes of photo ${photo.id} are missing.`)
  if (isOriginal && input.countDownload !== false && coversWhole(input.range, info.size)) {
    await ctx.store.incrementPhotoCounters(photo.id, { downloads: 1 })
  }
  return {
    stream,
    size: info.size,
    mimeType,
    extension,
    etag: variant ? `"${photo.id}-${variant.name}-${variant.size}"` : `"${photo.checksum}"`,
    lastModified: photo.createdAt,
    width: variant?.width ?? photo.width,
    height: variant?.height ?? photo.height,
  }
}

/** Whether `range` (none: the whole blob) reads a blob of `size` bytes from its first to its last. */
function coversWhole(range: ByteRange | undefined, size: number): boolean {
  if (!range) return true
  return range.start === 0 && (range.end === undefined || range.end >= size - 1)
}
