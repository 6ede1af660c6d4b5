import { DarkroomError } from '../errors.js'
import type { PhotoKeyset, PhotoSort, SortOrder } from '../ports/metadata-store.js'

/**
 * A keyset cursor is opaque to callers: base64url JSON of the sort, order and the last row's
 * sort value and id. A cursor from another sort or order is refused rather than misread.
 */
interface CursorBody {
  s: PhotoSort
  o: SortOrder
  v: string | number
  i: string
}

export function encodeCursor(sort: PhotoSort, order: SortOrder, keyset: PhotoKeyset): string {
  const body: CursorBody = { s: sort, o: order, v: keyset.value, i: keyset.id }
  return Buffer.from(JSON.stringify(body)).toString('base64url')
}

export function decodeCursor(cursor: string, sort: PhotoSort, order: SortOrder): PhotoKeyset {
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
  return { value: body.v, id: body.i }
}

function invalid(message: string, cause?: unknown) {
  return new DarkroomError('VALIDATION', message, {
    cause,
    violations: [{ property: 'cursor', message }],
  })
}
