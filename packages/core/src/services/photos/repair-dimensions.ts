import { IMAGE_MIME_TYPES } from '../../config.js'
import type { Caller } from '../../domain/types.js'
import { isAdmin, requireScope } from '../../internal/access.js'
import { readAll } from '../../internal/bytes.js'
import type { ServiceContext } from '../context.js'

export interface RepairResult {
  scanned: number
  repaired: number
  failed: number
  failures: Array<{ id: string; message: string }>
}

const PAGE = 200
/** Whatever was accepted once is re-read, even if the allowed list has shrunk since. */
const REPAIRABLE_TYPES = [...IMAGE_MIME_TYPES]

/**
 * Re-reads width, height and orientation from each stored original's header and fixes the rows
 * where they are missing *or wrong* (an older import, a manual edit, a stale EXIF size). Sizes
 * come from the decoded header, never from EXIF's own size tags. Idempotent and stateless: a
 * run interrupted by a restart is simply run again. Admins repair every owner's photos.
 */
export async function repairDimensions(
  ctx: ServiceContext,
  caller: Caller,
  input: { onlyMissing?: boolean } = {},
): Promise<RepairResult> {
  requireScope(caller, 'photos.write')
  const result: RepairResult = { scanned: 0, repaired: 0, failed: 0, failures: [] }
  const scope = isAdmin(caller) ? {} : { ownerId: caller.ownerId }
  let afterId: string | undefined
  for (;;) {
    const page = await ctx.store.scanPhotos({
      ...scope,
      ...(afterId ? { afterId } : {}),
      limit: PAGE,
    })
    if (page.length === 0) break
    afterId = page[page.length - 1]!.id
    for (const photo of page) {
      if (photo.kind !== 'image') continue
      if (input.onlyMissing && photo.width !== null && photo.height !== null) continue
      result.scanned++
      try {
        const stream = await ctx.blobs.get(photo.originalKey)
        if (!stream) throw new Error(`the original ${photo.originalKey} is missing`)
        const data = await readAll(stream, Number.MAX_SAFE_INTEGER)
        const probe = await ctx.media.probeImage(data, {
          maxInputPixels: Number.MAX_SAFE_INTEGER,
          allowedMimeTypes: REPAIRABLE_TYPES,
        })
        if (
          probe.width !== photo.width ||
          probe.height !== photo.height ||
          probe.orientation !== photo.orientation
        ) {
          await ctx.store.updatePhoto(photo.id, {
            width: probe.width,
            height: probe.height,
            orientation: probe.orientation,
            updatedAt: ctx.clock.now(),
          })
          result.repaired++
        }
      } catch (error) {
        result.failed++
        result.failures.push({
          id: photo.id,
          message: error instanceof Error ? error.message : String(error),
        })
      }
    }
  }
  return result
}
