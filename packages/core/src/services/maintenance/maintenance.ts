import type { BlobInfo } from '../../ports/blob-store.js'
import type { ServiceContext } from '../context.js'
import { blobKeysOf, deleteBlobsQuietly, keptBlobKeys } from '../photos/shared.js'

/**
 * Removes pending photos older than the TTL (`pending.ttlMs`): row first, then blobs.
 * Idempotent; safe to run from a timer or a job queue.
 */
export async function purgePending(ctx: ServiceContext): Promise<{ purged: number }> {
  const cutoff = new Date(ctx.clock.now().getTime() - ctx.config.pending.ttlMs)
  let purged = 0
  for (;;) {
    const batch = await ctx.store.listPendingBefore(cutoff, 200)
    if (batch.length === 0) break
    for (const photo of batch) {
      await ctx.store.deletePhoto(photo.id).catch(() => undefined)
      await deleteBlobsQuietly(ctx, blobKeysOf(photo))
      purged++
      await ctx.events.emit([
        ctx.events.make('photo.deleted', photo.ownerId, photo.id, {
          hard: true,
          reason: 'pending_expired',
        }),
      ])
    }
  }
  return { purged }
}

export interface SweepResult {
  /** Blobs looked at. */
  scanned: number
  /** Keys of the blobs no row references, removed (or only listed in a dry run). */
  orphans: string[]
  /** Partial writes a crash left in the blob store (temp files), removed; 0 in a dry run. */
  incomplete: number
}

/**
 * Finds blobs that no photo row references (a crash between writing blobs and committing the
 * row, a failed blob delete) and removes them, except the ones a hard delete retained on
 * purpose (`preserveOnDisk`), and the partial writes a crash left behind (the
 * store's `sweepIncomplete`). Blobs younger than `olderThanMs` (default
 * `orphanGraceMs`) are left alone: an ingest in flight may own them.
 */
export async function sweepOrphans(
  ctx: ServiceContext,
  options: { olderThanMs?: number; dryRun?: boolean } = {},
): Promise<SweepResult> {
  const cutoff = ctx.clock.now().getTime() - (options.olderThanMs ?? ctx.config.orphanGraceMs)
  const result: SweepResult = { scanned: 0, orphans: [], incomplete: 0 }
  let batch: BlobInfo[] = []
  const flush = async () => {
    const kept = await keptBlobKeys(
      ctx.store,
      batch.map((b) => b.key),
    )
    const orphans = batch.filter((b) => !kept.has(b.key)).map((b) => b.key)
    if (!options.dryRun) await deleteBlobsQuietly(ctx, orphans)
    result.orphans.push(...orphans)
    batch = []
  }
  for await (const blob of ctx.blobs.list('photos/')) {
    result.scanned++
    if (blob.lastModified.getTime() > cutoff) continue
    batch.push(blob)
    if (batch.length >= 500) await flush()
  }
  await flush()
  if (!options.dryRun && ctx.blobs.sweepIncomplete) {
    result.incomplete = await ctx.blobs.sweepIncomplete(new Date(cutoff))
  }
  return result
}
