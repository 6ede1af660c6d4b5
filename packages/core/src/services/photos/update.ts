import { DarkroomError, type Violation } from '../../errors.js'
import { sanitizeFilename, toPhoto } from '../../domain/photo.js'
import type { Caller, PhotoAnswer } from '../../domain/types.js'
import { photoAnswerFor, requireScope } from '../../internal/access.js'
import type { PhotoPatch } from '../../ports/metadata-store.js'
import type { ServiceContext } from '../context.js'
import { loadOwnPhoto } from './shared.js'

export interface UpdatePhotoInput {
  id: string
  description?: string
  filename?: string
  isPublic?: boolean
  hidden?: boolean
  category?: string | null
  /** `false` publishes a pending photo. */
  pending?: boolean
  postId?: string | null
  /**
   * A manual dimension fix: both or neither. The photo remembers it, and `repairDimensions`
   * keeps it unless called with `overrideManual`.
   */
  width?: number
  height?: number
}

export async function update(
  ctx: ServiceContext,
  caller: Caller,
  input: UpdatePhotoInput,
): Promise<PhotoAnswer> {
  requireScope(caller, 'photos.write')
  const violations: Violation[] = []
  const patch: PhotoPatch = {}
  if (input.description !== undefined) {
    if (input.description.length > 10_000) {
      violations.push({
        property: 'description',
        message: 'The description is at most 10000 characters.',
      })
    }
    patch.description = input.description
  }
  if (input.filename !== undefined) patch.filename = sanitizeFilename(input.filename)
  if (input.isPublic !== undefined) patch.isPublic = input.isPublic
  if (input.hidden !== undefined) patch.hidden = input.hidden
  if (input.category !== undefined) patch.category = input.category
  if (input.postId !== undefined) patch.postId = input.postId
  if (input.pending !== undefined) patch.pending = input.pending
  if ((input.width === undefined) !== (input.height === undefined)) {
    violations.push({ property: 'width', message: 'Give width and height together.' })
  } else if (input.width !== undefined && input.height !== undefined) {
    for (const [property, value] of [
      ['width', input.width],
      ['height', input.height],
    ] as const) {
      if (!Number.isInteger(value) || value < 1 || value > 1_000_000) {
        violations.push({
          property,
          message: `The ${property} is a whole number from 1 to 1000000.`,
        })
      }
    }
    patch.width = input.width
    patch.height = input.height
    patch.manualDimensions = true
  }
  if (violations.length > 0) throw DarkroomError.validation(violations)

  const before = await loadOwnPhoto(ctx.store, caller, input.id)
  const after = await ctx.store.updatePhoto(before.id, { ...patch, updatedAt: ctx.clock.now() })
  const photo = toPhoto(after, ctx.config)
  await ctx.events.emit([
    ctx.events.make('photo.updated', caller.ownerId, photo.id, {
      photo,
      changed: Object.keys(patch).filter((key) => key !== 'manualDimensions'),
    }),
  ])
  return photoAnswerFor(caller, photo)
}
