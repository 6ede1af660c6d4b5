import { DarkroomError, type Caller, type Scope } from '@darkroom/core'

/**
 * Scope checks for the records this package keeps itself (keys, webhooks); photo and album
 * operations are checked by core. `admin` holds every scope.
 */
export function requireScope(caller: Caller, scope: Scope): void {
  if (hasScope(caller, scope)) return
  throw new DarkroomError('FORBIDDEN', `This operation needs the "${scope}" scope.`)
}

export function hasScope(caller: Caller, scope: Scope): boolean {
  return caller.scopes.includes(scope) || caller.scopes.includes('admin')
}

export function isAdmin(caller: Caller): boolean {
  return caller.scopes.includes('admin')
}
