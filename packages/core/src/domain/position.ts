import { generateKeyBetween } from 'fractional-indexing'

/**
 * Order inside an album is a fractional-index key (base-62 strings that sort as bytes). A new
 * photo goes after the last key; a reorder writes one row with a key between its new
 * neighbours, so no other row is touched. Keys grow by about one character per ~60 moves into
 * the same gap, which stays far below any practical limit.
 */
export function positionAfter(last: string | null): string {
  return generateKeyBetween(last, null)
}

export function positionBetween(before: string | null, after: string | null): string {
  return generateKeyBetween(before, after)
}
