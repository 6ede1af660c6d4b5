/** Dates go out as ISO strings: the wire has no Date, and a client typed `Date` would lie. */
export function iso(date: Date): string
export function iso(date: Date | null): string | null
export function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString()
}
