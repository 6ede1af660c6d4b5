import { toPhoto } from '../../domain/photo.js'
import type { PhotoRecord } from '../../domain/types.js'
import type { BlobInfo } from '../../ports/blob-store.js'
import type { ServiceContext } from '../context.js'
import {
  blobKeysOf,
  deleteBlobsQuietly,
  deletePhotoRow,
  deleteUnreferencedBlobs,
  keptBlobKeys,
} from '../photos/shared.js'

const PURGE_PAGE = 200

/**
 * Removes pending photos older than the TTL (`pending.ttlMs`): row first, then blobs, one
 * `photo.deleted` each (`reason: 'pending_expired'`). A photo published meanwhile stays.
 * Idempotent; safe to run from a timer or a job queue.
 */
export async function purgePending(ctx: ServiceContext): Promise<{ purged: number }> {
  const cutoff = new Date(ctx.clock.now().getTime() - ctx.config.pending.ttlMs)
  return purge(ctx, {
    reason: 'pending_expired',
    list: () => ctx.store.listPendingBefore(cutoff, PURGE_PAGE),
    isDue: (photo) => photo.pending && photo.createdAt < cutoff,
  })
}

/**
 * Empties the trash of photos that have been in it longer than `olderThanMs` (default
 * `trash.retentionMs`, 30 days): row first (in a transaction, which also clears a profile
 * picture pointing at it), then blobs, one `photo.deleted` each (`hard: true, reason:
 * 'trash_expired'`). A photo restored meanwhile stays. Idempotent; safe to run from a timer or
 * a job queue.
 */
export async function purgeTrash(
  ctx: ServiceContext,
  options: { olderThanMs?: number } = {},
): Promise<{ purged: number }> {
  const retentionMs = options.olderThanMs ?? ctx.config.trash.retentionMs
  const cutoff = new Date(ctx.clock.now().getTime() - retentionMs)
  return purge(ctx, {
    reason: 'trash_expired',
    list: () => ctx.store.listTrashedBefore(cutoff, PURGE_PAGE),
    isDue: (photo) => photo.deletedAt !== null && photo.deletedAt < cutoff,
  })
}

/**
 * Hard-deletes, page after page, the photos `list` finds: each row in a transaction of its own
 * that reads it again and leaves it if it is no longer due (restored, published, deleted by
 * someone else), then its blobs, then its event. `list` must stop finding a photo once its row
 * is gone or no longer due, so the loop ends.
 */
async function purge(
  ctx: ServiceContext,
  job: {
    reason: string
    list: () => Promise<PhotoRecord[]>
    isDue: (photo: PhotoRecord) => boolean
  },
): Promise<{ purged: number }> {
  let purged = 0
  for (;;) {
    const page = await job.list()
    if (page.length === 0) break
    let progress = false
    for (const listed of page) {
      const photo = await ctx.store.transaction(async (tx) => {
        const current = await tx.getPhoto(listed.id)
        if (!current || !job.isDue(current)) return null
        await deletePhotoRow(tx, current)
        return current
      })
      if (!photo) continue
      progress = true
      await deleteUnreferencedBlobs(ctx, blobKeysOf(photo))
      purged++
      await ctx.events.emit([
        ctx.events.make('photo.deleted', photo.ownerId, photo.id, {
          photo: toPhoto(photo, ctx.config),
          hard: true,
          reason: job.reason,
        }),
      ])
    }
    // Every row of the page changed under us: the next page would be the same rows again.
    if (!progress) break
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
