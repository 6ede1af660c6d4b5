/**
 * What the structure walkers share: the reason a walk stops short (a limit passed, or a file
 * that breaks its own format), and the compressed metadata a PNG leaves to be measured.
 * Walkers are pure functions on bytes; they read headers only and never allocate in proportion
 * to what a file declares.
 */
export type StructureIssue =
  /** Read as "it has more than 1,000 PNG text chunks" and "1,000". */
  { kind: 'limit'; found: string; limit: string } | { kind: 'corrupt'; detail: string }

export class StructureError extends Error {
  override readonly name = 'StructureError'
  constructor(readonly issue: StructureIssue) {
    super(issue.kind === 'limit' ? issue.found : issue.detail)
  }
}

export function pastLimit(found: string, limit: string): StructureError {
  return new StructureError({ kind: 'limit', found, limit })
}

export function broken(detail: string): StructureError {
  return new StructureError({ kind: 'corrupt', detail })
}

/** A zlib stream inside the file, to be inflated with a bound before any decoder does it. */
export interface Deflated {
  kind: 'icc' | 'text'
  data: Uint8Array
}

export function viewOf(data: Uint8Array): DataView {
  return new DataView(data.buffer, data.byteOffset, data.byteLength)
}

export function fourcc(data: Uint8Array, at: number): string {
  return String.fromCharCode(data[at]!, data[at + 1]!, data[at + 2]!, data[at + 3]!)
}

/** Throws once `count` of something is past `limit`: "it has more than 1,000 PNG text chunks". */
export function counted(count: number, limit: number, what: string): void {
  if (count > limit) throw pastLimit(`it has more than ${amount(limit)} ${what}`, amount(limit))
}

export function amount(value: number): string {
  return value.toLocaleString('en-US')
}
