import { DarkroomError } from '../errors.js'
import type { PhotoKeyset, PhotoSort, SortOrder } from '../ports/metadata-store.js'

/**
 * A keyset cursor is opaque to callers: base64url JSON of the sort, order, the last row's sort
 * value and id, and the total counted on the first page (so later pages need no count). A
 * cursor from another sort or order is refused rather than misread.
 */
interface CursorBody {
  s: PhotoSort
  o: SortOrder
  v: string | number
  i: string
  t?: number
}

export interface DecodedCursor extends PhotoKeyset {
  /** The total counted when the first page was read; undefined in cursors made without it. */
  total?: number
}

export function encodeCursor(
  sort: PhotoSort,
  order: SortOrder,
  keyset: PhotoKeyset,
  total?: number,
): string {
  const body: CursorBody = { s: sort, o: order, v: keyset.value, i: keyset.id }
  if (total !== undefined) body.t = total
  return Buffer.from(JSON.stringify(body)).toString('base64url')
}

export function decodeCursor(cursor: string, sort: PhotoSort, order: SortOrder): DecodedCursor {
  let body: Partial<CursorBody>
  try {
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<CursorBody>
  } catch (cause) {
    throw invalid('The cursor is not valid.', cause)
  }
  if (
    typeof body !== 'object' ||
    body === null ||
    (typeof body.v !== 'string' && typeof body.v !== 'number') ||
    typeof body.i !== 'string'
  ) {
    throw invalid('The cursor is not valid.')
  }
  if (body.s !== sort || body.o !== order) {
    throw invalid(`The cursor was made for sort "${body.s} ${body.o}", not "${sort} ${order}".`)
  }
  const keyset: DecodedCursor = { value: body.v, id: body.i }
  if (Number.isSafeInteger(body.t) && (body.t as number) >= 0) keyset.total = body.t as number
  return keyset
}

function invalid(message: string, cause?: unknown) {
  return new DarkroomError('VALIDATION', message, {
    cause,
    violations: [{ property: 'cursor', message }],
  })
}
