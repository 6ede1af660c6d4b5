import { DarkroomError } from '../../errors.js'
import { toPhoto } from '../../domain/photo.js'
import type { Caller, Photo } from '../../domain/types.js'
import { isPubliclyVisible, requireScope } from '../../internal/access.js'
import type { ServiceContext } from '../context.js'
import { loadReadablePhoto } from './shared.js'

export const MAX_GET_MANY = 200

/** One photo: the caller's own, or someone's public one. `countView` adds to `views`. */
export async function get(
  ctx: ServiceContext,
  caller: Caller,
  input: { id: string; countView?: boolean },
): Promise<Photo> {
  requireScope(caller, 'photos.read')
  let record = await loadReadablePhoto(ctx.store, caller, input.id)
  if (input.countView) record = await ctx.store.incrementPhotoCounters(record.id, { views: 1 })
  return toPhoto(record, ctx.config)
}

/** The readable photos among `ids`, in the order asked; missing or foreign ids are left out. */
export async function getMany(
  ctx: ServiceContext,
  caller: Caller,
  input: { ids: readonly string[] },
): Promise<Photo[]> {
  requireScope(caller, 'photos.read')
  if (input.ids.length > MAX_GET_MANY) {
    throw DarkroomError.validation([
      {
        property: 'ids',
        message: `At most ${MAX_GET_MANY} ids at once (got ${input.ids.length}).`,
      },
    ])
  }
  const records = await ctx.store.getPhotos([...new Set(input.ids)])
  const byId = new Map(
    records
      .filter((r) => r.ownerId === caller.ownerId || isPubliclyVisible(r))
      .map((r) => [r.id, r]),
  )
  return input.ids.flatMap((id) => {
    const r = byId.get(id)
    return r ? [toPhoto(r, ctx.config)] : []
  })
}
