import { DarkroomError } from '../../errors.js'
import { toPhoto } from '../../domain/photo.js'
import { MAX_POSITION_LENGTH, positionBetween, positionsBetween } from '../../domain/position.js'
import type { Caller, PhotoAnswer, PhotoRecord } from '../../domain/types.js'
import type { MetadataOps } from '../../ports/metadata-store.js'
import { photoAnswerFor, requireScope } from '../../internal/access.js'
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
 * moves into the same gap cannot produce the same key. When that key would pass
 * `MAX_POSITION_LENGTH` (moves into one gap again and again), a window of neighbours around the
 * gap gets evenly spaced keys instead, in the same transaction and order (`respace`).
 */
export async function reorder(
  ctx: ServiceContext,
  caller: Caller,
  input: ReorderPhotoInput,
): Promise<PhotoAnswer> {
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
    const [low, high] =
      direction === 'before' ? [neighbour, anchor.position] : [anchor.position, neighbour]
    let position = positionBetween(low, high)
    if (position.length > MAX_POSITION_LENGTH) {
      position = await respace(tx, { ownerId: caller.ownerId, photo, low, high })
    }
    return tx.updatePhoto(photo.id, { position, updatedAt: ctx.clock.now() })
  })
  const photo = toPhoto(moved, ctx.config)
  await ctx.events.emit([
    ctx.events.make('photo.updated', caller.ownerId, photo.id, { photo, changed: ['position'] }),
  ])
  return photoAnswerFor(caller, photo)
}

/** Neighbours on each side of the gap that the first re-spacing rewrites; doubled until it fits. */
const RESPACE_SIDE = 8
/** The widest window (per side) re-spaced in one transaction; past it a longer key is written. */
const RESPACE_MAX_SIDE = 4096

/**
 * Inside the reorder's transaction (album or owner locked): gives the photos nearest the gap
 * `low`..`high` (up to `side` on each side, trashed and pending ones included, as they hold their
 * places) and the moved photo between them evenly spaced keys between the first photos outside
 * that window, so that every key stays within `MAX_POSITION_LENGTH`. The order is exactly kept.
 * When the bounds are too close for that, the window doubles, up to the whole album (whose keys
 * are then as short as they can be). Returns the moved photo's key; writes the others.
 */
async function respace(
  tx: MetadataOps,
  gap: { ownerId: string; photo: PhotoRecord; low: string | null; high: string | null },
): Promise<string> {
  const { ownerId, photo, low, high } = gap
  const near = { ownerId, albumId: photo.albumId, excludeId: photo.id }
  for (let side = RESPACE_SIDE; ; side *= 2) {
    const below =
      low === null
        ? []
        : await tx.listAdjacentPositions({
            ...near,
            position: high,
            direction: 'before',
            limit: side + 1,
          })
    const above =
      high === null
        ? []
        : await tx.listAdjacentPositions({
            ...near,
            position: low,
            direction: 'after',
            limit: side + 1,
          })
    const window = [...below.slice(0, side).reverse(), null, ...above.slice(0, side)]
    const outerLow = below[side]?.position ?? null
    const outerHigh = above[side]?.position ?? null
    const keys = positionsBetween(outerLow, outerHigh, window.length)
    const fits = keys.every((key) => key.length <= MAX_POSITION_LENGTH)
    const whole = outerLow === null && outerHigh === null
    if (!fits && !whole && side < RESPACE_MAX_SIDE) continue
    let moved = ''
    for (const [i, row] of window.entries()) {
      if (row === null) moved = keys[i]!
      else if (row.position !== keys[i]) await tx.updatePhoto(row.id, { position: keys[i]! })
    }
    return moved
  }
}
