import { originalKey, variantKey } from '../../../domain/blob-keys.js'
import type { StoredVariant } from '../../../domain/types.js'
import type { ServiceContext } from '../../context.js'
import type { PreparedMedia } from './prepared-media.js'

/** Where a photo's blobs go: keys made from its id only, never from anything the client sent. */
export interface BlobPlan {
  originalKey: string
  variants: StoredVariant[]
  /** Every key the plan writes, for deleting them all when the ingest fails. */
  keys: string[]
}

export function planBlobs(id: string, media: PreparedMedia): BlobPlan {
  const variants: StoredVariant[] = media.variants.map((v) => ({
    name: v.name,
    key: variantKey(id, v.name, v.format === 'jpeg' ? 'jpg' : v.format),
    format: v.format,
    mimeType: v.mimeType,
    width: v.width,
    height: v.height,
    size: v.data.byteLength,
  }))
  const key = originalKey(id)
  return { originalKey: key, variants, keys: [key, ...variants.map((v) => v.key)] }
}

/**
 * Writes the original (byte for byte) and every variant, all at once. When it resolves every
 * blob is durable (the `BlobStore.put` contract); when it throws, some may be written and the
 * caller deletes `plan.keys`.
 */
export async function storeBlobs(
  ctx: ServiceContext,
  stored: { plan: BlobPlan; media: PreparedMedia },
): Promise<void> {
  const { plan, media } = stored
  await Promise.all([
    ctx.blobs.put(plan.originalKey, media.original(), { contentType: media.mimeType }),
    ...media.variants.map((v, i) =>
      ctx.blobs.put(plan.variants[i]!.key, v.data, { contentType: v.mimeType }),
    ),
  ])
}
