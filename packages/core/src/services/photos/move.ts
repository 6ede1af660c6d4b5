import { DarkroomError } from '../../errors.js'
import { NO_COUNTS, toPhoto } from '../../domain/photo.js'
import type { Caller, Photo, PhotoAnswer, PhotoRecord } from '../../domain/types.js'
import { photoAnswerFor, requireScope } from '../../internal/access.js'
import type { ServiceContext } from '../context.js'
import { admit } from './admit.js'
import { loadOwnAlbum, loadOwnPhoto } from './shared.js'

export interface MovePhotoInput {
  id: string
  /** The album to move (or copy) into; `null` takes the photo out of any album. */
  albumId: string | null
  /** Copy instead of move: a new photo with its own id, sharing the source's blobs. */
  copy?: boolean
}

/**
 * Moves or copies a photo. The target album's cap (and for a copy the owner's quota) is checked
 * and the row written in one transaction with the album locked. The photo goes to the end of
 * its new album. Moving into an album that already holds the same bytes is `CONFLICT`.
 */
export async function move(
  ctx: ServiceContext,
  caller: Caller,
  input: MovePhotoInput,
): Promise<PhotoAnswer> {
  requireScope(caller, 'photos.write')
  const source = await loadOwnPhoto(ctx.store, caller, input.id)
  const albumId = input.albumId ?? null
  if (albumId !== null) await loadOwnAlbum(ctx.store, caller, albumId)
  const photo = input.copy
    ? await copyPhoto(ctx, caller, source, albumId)
    : await movePhoto(ctx, caller, source, albumId)
  return photoAnswerFor(caller, photo)
}

async function movePhoto(
  ctx: ServiceContext,
  caller: Caller,
  source: PhotoRecord,
  albumId: string | null,
): Promise<Photo> {
  if (source.albumId === albumId) return toPhoto(source, ctx.config)
  const moved = await admit(ctx, { caller, kind: 'move', photoId: source.id, albumId }).catch(
    (error: unknown) => {
      throw conflictAsDuplicate(error, albumId)
    },
  )
  const photo = toPhoto(moved, ctx.config)
  await ctx.events.emit([
    ctx.events.make('photo.updated', caller.ownerId, photo.id, {
      photo,
      changed: ['albumId'],
      fromAlbumId: source.albumId,
    }),
  ])
  return photo
}

/**
 * A copy is a new row that shares the source's blobs (the same keys): no byte is written, and a
 * blob stays until the last row naming it is gone (`keptBlobKeys`). Its bytes still count
 * against the owner's quota, as an upload's would. `admit` locks the source inside its
 * transaction, so a concurrent hard delete of the source either commits first (the copy is then
 * `NOT_FOUND`) or finds the copy before it removes any blob.
 */
async function copyPhoto(
  ctx: ServiceContext,
  caller: Caller,
  source: PhotoRecord,
  albumId: string | null,
): Promise<Photo> {
  const copy: PhotoRecord = {
    ...source,
    id: ctx.ids.newId(),
    albumId,
    deletedAt: null,
    createdAt: ctx.clock.now(),
    updatedAt: ctx.clock.now(),
    ...NO_COUNTS,
  }
  const admitted = await admit(ctx, {
    caller,
    kind: 'insert',
    record: copy,
    sharesBlobsOf: source.id,
  }).catch((error: unknown) => {
    throw conflictAsDuplicate(error, albumId)
  })
  const photo = toPhoto(admitted, ctx.config)
  await ctx.events.emit([
    ctx.events.make('photo.uploaded', caller.ownerId, photo.id, { photo, copiedFrom: source.id }),
  ])
  return photo
}

function conflictAsDuplicate(error: unknown, albumId: string | null): unknown {
  if (error instanceof DarkroomError && error.code === 'CONFLICT') {
    const where = albumId === null ? 'outside any album' : `in album ${albumId}`
    return new DarkroomError('CONFLICT', `A photo with the same bytes is already ${where}.`, {
      cause: error,
    })
  }
  return error
}
