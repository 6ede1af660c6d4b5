import type { Readable } from 'node:stream'
import { DarkroomError } from '../../errors.js'
import type { Caller } from '../../domain/types.js'
import { assertReadable, requireScope } from '../../internal/access.js'
import type { ByteRange } from '../../ports/blob-store.js'
import type { ServiceContext } from '../context.js'

export interface OpenedBlob {
  stream: Readable
  /** Size of the whole blob. */
  size: number
  mimeType: string
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
  range?: ByteRange
  /** Default true: opening the original from byte 0 counts a download. */
  countDownload?: boolean
}

/**
 * Opens a stored rendition for serving. Readable by the owner, or by anyone when `caller` is
 * null (an anonymous or signed-URL request) and the photo is public. Opening the original counts
 * a download (a ranged request counts only when it starts at byte 0).
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
  const key = variant?.key ?? photo.originalKey
  const info = await ctx.blobs.stat(key)
  const stream = info ? await ctx.blobs.get(key, input.range) : null
  if (!info || !stream)
    throw new DarkroomError('NOT_FOUND', `The bytes of photo ${photo.id} are missing.`)
  if (isOriginal && input.countDownload !== false && (input.range?.start ?? 0) === 0) {
    await ctx.store.incrementPhotoCounters(photo.id, { downloads: 1 })
  }
  return {
    stream,
    size: info.size,
    mimeType: variant?.mimeType ?? photo.mimeType,
    etag: variant ? `"${photo.id}-${variant.name}-${variant.size}"` : `"${photo.checksum}"`,
    lastModified: photo.createdAt,
    width: variant?.width ?? photo.width,
    height: variant?.height ?? photo.height,
  }
}
