import { DarkroomError } from '../errors.js'
import type {
  Caller,
  Photo,
  PhotoAnswer,
  PhotoReceipt,
  PhotoRecord,
  Scope,
} from '../domain/types.js'

/**
 * The scope rule, the one copy every edge uses: `admin` holds every scope. Throws
 * `UNAUTHORIZED` for a caller without an owner id, `FORBIDDEN` naming the missing scope.
 */
export function requireScope(caller: Caller, scope: Scope): void {
  if (!caller || typeof caller.ownerId !== 'string' || caller.ownerId.length === 0) {
    throw new DarkroomError('UNAUTHORIZED', 'A caller with an owner id is required.')
  }
  if (hasScope(caller, scope)) return
  throw new DarkroomError('FORBIDDEN', `This operation needs the "${scope}" scope.`)
}

export function hasScope(caller: Caller, scope: Scope): boolean {
  return caller.scopes.includes(scope) || caller.scopes.includes('admin')
}

export function isAdmin(caller: Caller): boolean {
  return caller.scopes.includes('admin')
}

/** A photo anyone with read access may see: public, listed and not in the trash. */
export function isPubliclyVisible(photo: PhotoRecord): boolean {
  return photo.isPublic && !photo.hidden && !photo.pending && photo.deletedAt === null
}

/**
 * Whose bytes may be served (the caller's `photos.read` scope checked already): the owner's own
 * photo outside the trash, or a public one. Anything else is `NOT_FOUND`, as a missing photo, so
 * ids of others' photos reveal nothing.
 */
export function assertReadable(
  caller: Caller | null,
  photo: PhotoRecord | null,
  id: string,
): asserts photo is PhotoRecord {
  const readable =
    photo &&
    ((caller && photo.ownerId === caller.ownerId && !photo.deletedAt) || isPubliclyVisible(photo))
  if (!photo || !readable) throw DarkroomError.notFound('Photo', id)
}

/**
 * The one rule for what a write answers about a photo: the photo itself to a caller that may
 * read photos, a `PhotoReceipt` (id, album, pending; no photo data) to one that may not. A
 * write-only key could otherwise read a photo's EXIF and GPS through a no-op `photos.update`.
 * Events still carry the whole photo (webhooks need `photos.read` to subscribe).
 */
export function photoAnswerFor(caller: Caller, photo: Photo): PhotoAnswer {
  return hasScope(caller, 'photos.read') ? photo : receiptOf(photo)
}

export function receiptOf(photo: Pick<Photo, 'id' | 'albumId' | 'pending'>): PhotoReceipt {
  return { id: photo.id, albumId: photo.albumId, pending: photo.pending, withheld: true }
}

/** A write's answer that carries no photo data (the caller lacks `photos.read`). */
export function isPhotoReceipt<T extends object>(answer: T): answer is Extract<T, PhotoReceipt> {
  return (answer as Partial<PhotoReceipt>).withheld === true
}
