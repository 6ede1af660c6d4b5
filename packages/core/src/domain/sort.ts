import { DarkroomError } from '../errors.js'
import type { PhotoKeyset, PhotoQuery, PhotoSort, SortOrder } from '../ports/metadata-store.js'
import type { PhotoRecord } from './types.js'

/**
 * The one definition of photo ordering, shared by the in-memory store and the SQL adapters so
 * that every store lists photos in the same order and reads keysets the same way.
 *
 * - Strings compare as binary (UTF-8 bytes, i.e. code point order): SQLite's BINARY collation
 *   and Postgres' `COLLATE "C"`, never a locale.
 * - `taken` uses the camera's wall-clock time (`YYYY-MM-DDTHH:MM:SS`, offset dropped): photos
 *   from one trip sort as they were taken whatever zone the camera was set to. Undated photos
 *   fall back to their upload time in UTC, so they sit among the dated ones, not at one end.
 * - `rating` is the average, 0 while unrated.
 * - Ties are broken by id in the same direction as the order; a keyset means strictly after
 *   `(value, id)` in that order.
 */

/** The `taken` sort key: `takenAt`'s wall-clock part, or the upload time when undated. */
export function takenSortKey(takenAt: string | null, createdAt: Date): string {
  return takenAt !== null ? takenAt.slice(0, 19) : createdAt.toISOString().slice(0, 19)
}

/** The average rating as stored for sorting: `ratingSum / ratingCount`, or 0 when unrated. */
export function ratingAverage(ratingSum: number, ratingCount: number): number {
  return ratingCount ? ratingSum / ratingCount : 0
}

/** The value a photo sorts by; also the `value` of a keyset made from that photo. */
export function sortValue(record: PhotoRecord, sort: PhotoSort): string | number {
  switch (sort) {
    case 'uploaded':
      return record.createdAt.getTime()
    case 'taken':
      return takenSortKey(record.takenAt, record.createdAt)
    case 'filename':
      return record.filename
    case 'size':
      return record.size
    case 'rating':
      return ratingAverage(record.ratingSum, record.ratingCount)
    case 'position':
      return record.position
  }
}

/** Whether a sort's values are numbers (`uploaded`, `size`, `rating`) or strings. */
export function isNumericSort(sort: PhotoSort): boolean {
  return sort === 'uploaded' || sort === 'size' || sort === 'rating'
}

/** The keyset that continues after `record`. */
export function keysetOf(record: PhotoRecord, sort: PhotoSort): PhotoKeyset {
  return { value: sortValue(record, sort), id: record.id }
}

/**
 * Binary string order (UTF-8 byte order, which is code point order). JavaScript's `<` compares
 * UTF-16 code units, which differs for characters above U+FFFF versus U+E000-U+FFFF.
 */
export function compareBinary(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return codeUnitRank(x) - codeUnitRank(y)
  }
  return a.length - b.length
}

// Surrogates (code points above U+FFFF) must sort after U+E000-U+FFFF.
function codeUnitRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000
  if (unit >= 0xe000) return unit - 0x800
  return unit
}

/** Numbers numerically, strings in binary order; a number sorts before a string. */
export function compareSortValues(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0
  if (typeof a === 'string' && typeof b === 'string') return Math.sign(compareBinary(a, b))
  return typeof a === 'number' ? -1 : 1
}

/** Compares two `(value, id)` pairs in the given order: negative when `a` comes first. */
export function compareKeysets(a: PhotoKeyset, b: PhotoKeyset, order: SortOrder): number {
  const byValue = compareSortValues(a.value, b.value)
  const c = byValue !== 0 ? byValue : Math.sign(compareBinary(a.id, b.id))
  return order === 'asc' ? c : -c
}

/** Compares two photos as `listPhotos` orders them. */
export function comparePhotos(
  a: PhotoRecord,
  b: PhotoRecord,
  sort: PhotoSort,
  order: SortOrder,
): number {
  return compareKeysets(keysetOf(a, sort), keysetOf(b, sort), order)
}

/**
 * The paging part of a `PhotoQuery` every store refuses alike with `VALIDATION`: a negative or
 * fractional `limit`/`offset`, or a keyset whose value is not of the sort's type.
 */
export function validatePhotoPaging(query: PhotoQuery): void {
  const { limit, offset, after, sort } = query
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw invalid('limit', `limit must be a non-negative integer, got ${limit}.`)
  }
  if (offset !== undefined && (!Number.isSafeInteger(offset) || offset < 0)) {
    throw invalid('offset', `offset must be a non-negative integer, got ${offset}.`)
  }
  if (after !== undefined) {
    const numeric = isNumericSort(sort)
    const ok = numeric
      ? typeof after.value === 'number' && Number.isFinite(after.value)
      : typeof after.value === 'string'
    if (!ok || typeof after.id !== 'string') {
      throw invalid('after', `The keyset does not fit sort "${sort}".`)
    }
  }
}

function invalid(property: string, message: string): DarkroomError {
  return new DarkroomError('VALIDATION', message, { violations: [{ property, message }] })
}
