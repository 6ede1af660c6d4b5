import { DarkroomError } from '../../errors.js'
import { toPhoto } from '../../domain/photo.js'
import { positionBetween } from '../../domain/position.js'
import type { Caller, Photo } from '../../domain/types.js'
import { requireScope } from '../../internal/access.js'
import type { ServiceContext } from '../context.js'
import { loadOwnPhoto } from './shared.js'

export interface ReorderPhotoInput {
  id: string
  /** Place the photo right before this one ... */
  before?: string
  /** ... or right after this one. Exactly one of the two. Both photos share an album. */
  after?: string
}

/**
 * Gives the photo a position key between its new neighbours: one row written, whatever the
 * album's size. Runs in a transaction with the album (or owner) locked so that two concurrent
 * moves into the same gap cannot produce the same key.
 */
export async function reorder(
  ctx: ServiceContext,
  caller: Caller,
  input: ReorderPhotoInput,
): Promise<Photo> {
  requireScope(caller, 'photos.write')
  const anchorId = input.before ?? input.after
  if ((input.before === undefined) === (input.after === undefined) || anchorId === undefined) {
    throw DarkroomError.validation([
      { property: 'before', message: 'Give exactly one of before or after.' },
    ])
  }
  if (anchorId === input.id) {
    throw DarkroomError.validation([
      {
        property: input.before ? 'before' : 'after',
        message: 'A photo cannot be placed next to itself.',
      },
    ])
  }
  const moved = await ctx.store.transaction(async (tx) => {
    const photo = await loadOwnPhoto(tx, caller, input.id)
    const anchor = await loadOwnPhoto(tx, caller, anchorId)
    if (photo.albumId !== anchor.albumId) {
      throw DarkroomError.validation([
        {
          property: input.before ? 'before' : 'after',
          message: `Photo ${anchor.id} is in another album; move the photo there first.`,
        },
      ])
    }
    if (photo.albumId) await tx.lockAlbum(photo.albumId)
    else await tx.lockOwner(caller.ownerId)
    const direction = input.before ? 'before' : 'after'
    const neighbour = await tx.getAdjacentPosition({
      ownerId: caller.ownerId,
      albumId: photo.albumId,
      position: anchor.position,
      direction,
      excludeId: photo.id,
    })
    const position =
      direction === 'before'
        ? positionBetween(neighbour, anchor.position)
        : positionBetween(anchor.position, neighbour)
    return tx.updatePhoto(photo.id, { position, updatedAt: ctx.clock.now() })
  })
  const photo = toPhoto(moved, ctx.config)
  await ctx.events.emit([
    ctx.events.make('photo.updated', caller.ownerId, photo.id, { photo, changed: ['position'] }),
  ])
  return photo
}
