import { DarkroomError, type Violation } from '../../errors.js'
import { toPhoto } from '../../domain/photo.js'
import type { Caller, CommentRecord, Photo } from '../../domain/types.js'
import { requireScope } from '../../internal/access.js'
import type { PhotoCounter } from '../../ports/metadata-store.js'
import type { ServiceContext } from '../context.js'
import { loadReadablePhoto } from './shared.js'

export interface ReactInput {
  id: string
  /** true likes, false withdraws the like; idempotent per caller. */
  like?: boolean
  /** 1-5; a caller's new rating replaces their old one. */
  rating?: number
  comment?: string
}

/**
 * Likes, ratings and comments by the caller on a photo they can read (their own or a public
 * one). Counters on the photo change in the same transaction as the reaction rows.
 */
export async function react(
  ctx: ServiceContext,
  caller: Caller,
  input: ReactInput,
): Promise<Photo> {
  requireScope(caller, 'photos.read')
  const violations: Violation[] = []
  if (
    input.rating !== undefined &&
    (!Number.isInteger(input.rating) || input.rating < 1 || input.rating > 5)
  ) {
    violations.push({ property: 'rating', message: 'A rating is a whole number from 1 to 5.' })
  }
  const comment = input.comment?.trim()
  if (input.comment !== undefined && (!comment || comment.length > 2000)) {
    violations.push({ property: 'comment', message: 'A comment has 1 to 2000 characters.' })
  }
  if (input.like === undefined && input.rating === undefined && input.comment === undefined) {
    violations.push({ property: 'like', message: 'Give a like, a rating or a comment.' })
  }
  if (violations.length > 0) throw DarkroomError.validation(violations)

  const record = await ctx.store.transaction(async (tx) => {
    const photo = await loadReadablePhoto(tx, caller, input.id)
    const deltas: Partial<Record<PhotoCounter, number>> = {}
    if (input.like !== undefined && (await tx.setLike(photo.id, caller.ownerId, input.like))) {
      deltas.likes = input.like ? 1 : -1
    }
    if (input.rating !== undefined) {
      const previous = await tx.setRating(photo.id, caller.ownerId, input.rating)
      deltas.ratingSum = input.rating - (previous ?? 0)
      if (previous === null) deltas.ratingCount = 1
    }
    if (comment) {
      const record: CommentRecord = {
        id: ctx.ids.newId(),
        photoId: photo.id,
        authorId: caller.ownerId,
        body: comment,
        createdAt: ctx.clock.now(),
      }
      await tx.insertComment(record)
      deltas.commentCount = 1
    }
    return Object.keys(deltas).length > 0 ? tx.incrementPhotoCounters(photo.id, deltas) : photo
  })
  return toPhoto(record, ctx.config)
}

export async function listComments(
  ctx: ServiceContext,
  caller: Caller,
  input: { id: string; limit?: number },
) {
  requireScope(caller, 'photos.read')
  const photo = await loadReadablePhoto(ctx.store, caller, input.id)
  const comments = await ctx.store.listComments(photo.id, Math.min(input.limit ?? 100, 500))
  return comments.map((c) => ({ ...c, createdAt: c.createdAt.toISOString() }))
}
