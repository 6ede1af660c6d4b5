import { DarkroomError } from '../../errors.js'
import { toPhoto } from '../../domain/photo.js'
import type { Caller, PhotoAnswer, PhotoRecord } from '../../domain/types.js'
import { photoAnswerFor, requireScope } from '../../internal/access.js'
import type { DarkroomEvent } from '../../ports/event-sink.js'
import type { ServiceContext } from '../context.js'
import { admit } from './admit.js'
import {
  blobKeysOf,
  deletePhotoRow,
  deleteUnreferencedBlobs,
  loadOwnPhoto,
  replaceProfilePicture,
} from './shared.js'

export interface DeletePhotoInput {
  id: string
  /** `false` (default): to the trash, restorable. `true`: the row, the original and every variant. */
  hard?: boolean
  /**
   * With `hard`: remove the row but leave the blobs where they are. They are recorded as
   * retained (`MetadataOps.retainBlobs`), so the orphan sweep never takes them for leftovers.
   */
  preserveOnDisk?: boolean
}

export interface DeleteResult {
  id: string
  hard: boolean
}

export const MAX_BULK_DELETE = 1000

/**
 * Soft delete sets `deletedAt`. Hard delete removes the row first, in a transaction, and the
 * blobs after: a failed blob delete leaves an orphan for the sweep, never a row without bytes.
 * Either way a profile picture pointing at the photo is cleared in the same transaction (a
 * restore does not set it again).
 */
export async function deletePhoto(
  ctx: ServiceContext,
  caller: Caller,
  input: DeletePhotoInput,
): Promise<DeleteResult> {
  requireScope(caller, 'photos.write')
  const { record, event } = await deleteOne(ctx, caller, input)
  await ctx.events.emit([event])
  return { id: record.id, hard: input.hard ?? false }
}

export interface BulkDeleteResult {
  deleted: number
  failed: number
  failures: Array<{ id: string; code: string; message: string }>
}

export async function bulkDelete(
  ctx: ServiceContext,
  caller: Caller,
  input: { ids: readonly string[]; hard?: boolean; preserveOnDisk?: boolean },
): Promise<BulkDeleteResult> {
  requireScope(caller, 'photos.write')
  if (input.ids.length > MAX_BULK_DELETE) {
    throw DarkroomError.validation([
      {
        property: 'ids',
        message: `At most ${MAX_BULK_DELETE} ids at once (got ${input.ids.length}).`,
      },
    ])
  }
  const result: BulkDeleteResult = { deleted: 0, failed: 0, failures: [] }
  const events: DarkroomEvent[] = []
  for (const id of new Set(input.ids)) {
    try {
      const one = await deleteOne(ctx, caller, { ...input, id })
      events.push(one.event)
      result.deleted++
    } catch (error) {
      if (!(error instanceof DarkroomError)) throw error
      result.failed++
      result.failures.push({ id, code: error.code, message: error.message })
    }
  }
  events.push(
    ctx.events.make('photos.bulk_deleted', caller.ownerId, undefined, {
      ids: events.map((e) => e.subjectId),
      hard: input.hard ?? false,
      deleted: result.deleted,
      failed: result.failed,
    }),
  )
  await ctx.events.emit(events)
  return result
}

async function deleteOne(
  ctx: ServiceContext,
  caller: Caller,
  input: DeletePhotoInput,
): Promise<{ record: PhotoRecord; event: DarkroomEvent }> {
  if (!input.hard) {
    const record = await ctx.store.transaction(async (tx) => {
      const photo = await loadOwnPhoto(tx, caller, input.id)
      if (photo.deletedAt) return photo
      await replaceProfilePicture(tx, photo)
      return tx.updatePhoto(photo.id, { deletedAt: ctx.clock.now(), updatedAt: ctx.clock.now() })
    })
    const photo = toPhoto(record, ctx.config)
    return {
      record,
      event: ctx.events.make('photo.deleted', caller.ownerId, record.id, { photo, hard: false }),
    }
  }
  const record = await ctx.store.transaction(async (tx) => {
    const photo = await loadOwnPhoto(tx, caller, input.id)
    await deletePhotoRow(tx, photo)
    if (input.preserveOnDisk) {
      const retainedAt = ctx.clock.now()
      await tx.retainBlobs(
        blobKeysOf(photo).map((key) => ({
          key,
          photoId: photo.id,
          ownerId: photo.ownerId,
          retainedAt,
        })),
      )
    }
    return photo
  })
  if (!input.preserveOnDisk) await deleteUnreferencedBlobs(ctx, blobKeysOf(record))
  const photo = toPhoto(record, ctx.config)
  return {
    record,
    event: ctx.events.make('photo.deleted', caller.ownerId, record.id, {
      photo,
      hard: true,
      preservedOnDisk: input.preserveOnDisk ?? false,
    }),
  }
}

/** Takes a photo out of the trash; its album's cap applies again. */
export async function restore(
  ctx: ServiceContext,
  caller: Caller,
  input: { id: string },
): Promise<PhotoAnswer> {
  requireScope(caller, 'photos.write')
  const record = await admit(ctx, { caller, kind: 'restore', photoId: input.id })
  const photo = toPhoto(record, ctx.config)
  await ctx.events.emit([
    ctx.events.make('photo.updated', caller.ownerId, photo.id, { photo, changed: ['deletedAt'] }),
  ])
  return photoAnswerFor(caller, photo)
}
