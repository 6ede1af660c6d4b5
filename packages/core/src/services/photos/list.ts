import { DarkroomError, type Violation } from '../../errors.js'
import { decodeCursor, encodeCursor } from '../../domain/cursor.js'
import { toPhoto } from '../../domain/photo.js'
import { sortValue } from '../../domain/sort.js'
import type { Caller, Photo } from '../../domain/types.js'
import { requireScope } from '../../internal/access.js'
import type { PhotoQuery, PhotoSort, SortOrder } from '../../ports/metadata-store.js'
import type { ServiceContext } from '../context.js'
import { loadOwnAlbum } from './shared.js'

export const PHOTO_SORTS = ['uploaded', 'taken', 'filename', 'size', 'rating', 'position'] as const
export const MAX_PAGE_SIZE = 200

export interface ListPhotosInput {
  /**
   * Omitted: all the caller's photos; `null`: those outside any album. An album that is not the
   * caller's (or does not exist) is `NOT_FOUND`, not an empty page.
   */
  albumId?: string | null
  category?: string
  hidden?: boolean
  pending?: boolean
  trashed?: boolean
  search?: string
  /** Default `uploaded` (newest first); `position` is the album's own order. */
  sort?: PhotoSort
  order?: SortOrder
  /** 1-200, default 50. */
  limit?: number
  offset?: number
  /** `nextCursor` of the previous page (keyset pagination; cannot be combined with offset). */
  cursor?: string
}

export interface PhotoList {
  items: Photo[]
  /**
   * Photos matching the filters. The first page (and any `offset` page) asks the store, and the
   * figure is exact as of that read: the SQL stores read it from per-album counts that triggers
   * keep in the writing transaction (a lookup, whatever the album's size), or count the rows
   * when a category, hidden or search filter applies. Pages reached through `cursor` repeat the
   * first page's figure, carried in the cursor: stale by whatever was added or removed since.
   */
  total: number
  nextCursor: string | null
}

export async function list(
  ctx: ServiceContext,
  caller: Caller,
  input: ListPhotosInput = {},
): Promise<PhotoList> {
  requireScope(caller, 'photos.read')
  const sort = input.sort ?? 'uploaded'
  const order = input.order ?? (sort === 'uploaded' ? 'desc' : 'asc')
  const limit = input.limit ?? 50
  const violations: Violation[] = []
  if (!PHOTO_SORTS.includes(sort)) {
    violations.push({
      property: 'sort',
      message: `Unknown sort "${String(sort)}"; use one of ${PHOTO_SORTS.join(', ')}.`,
    })
  }
  if (order !== 'asc' && order !== 'desc') {
    violations.push({ property: 'order', message: 'The order is "asc" or "desc".' })
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    violations.push({
      property: 'limit',
      message: `The limit is a whole number from 1 to ${MAX_PAGE_SIZE}.`,
    })
  }
  if (input.offset !== undefined && (!Number.isInteger(input.offset) || input.offset < 0)) {
    violations.push({ property: 'offset', message: 'The offset is a whole number from 0.' })
  }
  if (input.offset && input.cursor) {
    violations.push({ property: 'cursor', message: 'Use either offset or cursor, not both.' })
  }
  if (violations.length > 0) throw DarkroomError.validation(violations)
  if (typeof input.albumId === 'string') await loadOwnAlbum(ctx.store, caller, input.albumId)

  const query: PhotoQuery = { ownerId: caller.ownerId, sort, order, limit: limit + 1 }
  if (input.albumId !== undefined) query.albumId = input.albumId
  if (input.category !== undefined) query.category = input.category
  if (input.hidden !== undefined) query.hidden = input.hidden
  if (input.pending !== undefined) query.pending = input.pending
  if (input.trashed !== undefined) query.trashed = input.trashed
  if (input.search) query.search = input.search
  if (input.offset) query.offset = input.offset
  // `total` is read on the first page and carried in the cursor: a keyset page costs an index
  // range scan and nothing more (the figure is a snapshot as of the first page).
  let carried: number | undefined
  if (input.cursor) {
    const { total, ...after } = decodeCursor(input.cursor, sort, order)
    query.after = after
    carried = total
    if (carried !== undefined) query.count = false
  }

  const page = await ctx.store.listPhotos(query)
  const total = page.total ?? carried ?? 0
  const items = page.items.slice(0, limit)
  const last = items[items.length - 1]
  const nextCursor =
    page.items.length > limit && last
      ? encodeCursor(sort, order, { value: sortValue(last, sort), id: last.id }, total)
      : null
  return { items: items.map((r) => toPhoto(r, ctx.config)), total, nextCursor }
}
