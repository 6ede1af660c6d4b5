import { DarkroomError } from '../errors.js'
import type { Caller, PhotoRecord, Scope } from '../domain/types.js'

/** `admin` holds every scope. Throws `FORBIDDEN` naming the missing one. */
export function requireScope(caller: Caller, scope: Scope): void {
  if (!caller || typeof caller.ownerId !== 'string' || caller.ownerId.length === 0) {
    throw new DarkroomError('UNAUTHORIZED', 'A caller with an owner id is required.')
  }
  if (caller.scopes.includes(scope) || caller.scopes.includes('admin')) return
  throw new DarkroomError('FORBIDDEN', `This operation needs the "${scope}" scope.`)
}

export function isAdmin(caller: Caller): boolean {
  return caller.scopes.includes('admin')
}

/** A photo anyone with read access may see: public, listed and not in the trash. */
export function isPubliclyVisible(photo: PhotoRecord): boolean {
  return photo.isPublic && !photo.hidden && !photo.pending && photo.deletedAt === null
}
