import { DarkroomError } from '../errors.js'

/**
 * What a blob key may look like, checked by every `BlobStore` adapter before a key reaches a
 * path or a request. Besides `[a-z0-9][a-z0-9/._-]*`, every `/`-separated segment must be
 * non-empty and neither `.` nor `..`: a filesystem would otherwise resolve two keys to one file
 * (`a//b`, `a/./b`) or leave the root (`a/../..`).
 */
const KEY_CHARS = /^[a-z0-9][a-z0-9/._-]*$/

export function isValidBlobKey(key: string): boolean {
  return (
    typeof key === 'string' &&
    KEY_CHARS.test(key) &&
    key.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
  )
}

/** Throws `VALIDATION` unless `key` is a valid blob key. */
export function assertBlobKey(key: string, property = 'key'): void {
  if (!isValidBlobKey(key)) throw invalid(property, `Invalid blob key ${JSON.stringify(key)}.`)
}

/**
 * A `list` prefix: empty, or the start of a valid key (it may end in `/` or in the middle of a
 * segment). Throws `VALIDATION` otherwise.
 */
export function assertBlobPrefix(prefix: string): void {
  if (prefix === '') return
  // Every segment but the last is complete; the last may be the start of any segment.
  const whole = prefix.split('/').slice(0, -1)
  const ok = KEY_CHARS.test(prefix) && whole.every((s) => s !== '' && s !== '.' && s !== '..')
  if (!ok) throw invalid('prefix', `Invalid blob key prefix ${JSON.stringify(prefix)}.`)
}

function invalid(property: string, message: string): DarkroomError {
  return new DarkroomError('VALIDATION', message, { violations: [{ property, message }] })
}
