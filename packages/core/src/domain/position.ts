import { generateKeyBetween, generateNKeysBetween } from 'fractional-indexing'

/**
 * Order inside an album is a fractional-index key (base-62 strings that sort as bytes). A new
 * photo goes after the last key; a reorder writes one row with a key between its new
 * neighbours, so no other row is touched. Moving photos into the same gap again and again makes
 * the keys there grow by a character every few moves, without bound: a key longer than
 * `MAX_POSITION_LENGTH` is never written; the reorder re-spaces a small window of neighbours
 * instead (`positionsBetween`), keeping their order (see `reorder.ts`).
 */
export const MAX_POSITION_LENGTH = 32

/** `n` keys in ascending order strictly between `before` and `after`, as evenly spread as can be. */
export function positionsBetween(before: string | null, after: string | null, n: number): string[] {
  return generateNKeysBetween(before, after, n)
}

export function positionAfter(last: string | null): string {
  return generateKeyBetween(last, null)
}

export function positionBetween(before: string | null, after: string | null): string {
  return generateKeyBetween(before, after)
}
