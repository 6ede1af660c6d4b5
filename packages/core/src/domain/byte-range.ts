import { DarkroomError } from '../errors.js'
import type { ByteRange } from '../ports/blob-store.js'

/**
 * An inclusive `ByteRange` as `[start, end)` offsets within a blob of `size` bytes. Throws
 * `VALIDATION` for a negative or fractional bound or an end before the start.
 */
export function resolveByteRange(
  range: ByteRange | undefined,
  size: number,
): { start: number; end: number } {
  if (!range) return { start: 0, end: size }
  const { start, end } = range
  const ok =
    Number.isSafeInteger(start) &&
    start >= 0 &&
    (end === undefined || (Number.isSafeInteger(end) && end >= start))
  if (!ok) {
    const message = `Invalid byte range ${JSON.stringify(range)}.`
    throw new DarkroomError('VALIDATION', message, {
      violations: [{ property: 'range', message }],
    })
  }
  const last = end === undefined ? size : Math.min(end + 1, size)
  return { start: Math.min(start, size), end: Math.max(Math.min(start, size), last) }
}
