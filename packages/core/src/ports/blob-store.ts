import type { Readable } from 'node:stream'

/**
 * Where bytes live: originals and variants. Implemented by `FsBlobStore`, `S3BlobStore` and
 * `MemoryBlobStore`; all pass `describeBlobStoreContract`.
 *
 * Keys are made by core from ids only (`photos/<id>/original`), never from user input: they
 * match `[a-z0-9][a-z0-9/._-]*`, and an adapter refuses anything else with `VALIDATION`.
 */

export type BlobBody = Uint8Array | Readable | AsyncIterable<Uint8Array>

export interface BlobInfo {
  key: string
  size: number
  lastModified: Date
}

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number
  end?: number
}

export interface BlobStore {
  /**
   * Stores the whole body under `key`, replacing what was there. When the promise resolves the
   * bytes are durable (fsynced, or acknowledged by the object store); a reader never sees a
   * partial blob. Returns the size written.
   */
  put(key: string, body: BlobBody, options?: { contentType?: string }): Promise<{ size: number }>
  /** A stream of the blob (or of the range), or null when it does not exist. */
  get(key: string, range?: ByteRange): Promise<Readable | null>
  /** Size and modification time, or null. */
  stat(key: string): Promise<BlobInfo | null>
  /** Removes the blob. Idempotent: a missing key is not an error. */
  delete(key: string): Promise<void>
  /** Copies `from` to `to`. Throws `NOT_FOUND` when `from` is missing. */
  copy(from: string, to: string): Promise<void>
  /** Every blob whose key starts with `prefix`, in no particular order. */
  list(prefix?: string): AsyncIterable<BlobInfo>
  /**
   * Optional, for stores whose `put` stages bytes outside the key space (a temp file): removes
   * what writes cut off by a crash left there, untouched since before `olderThan`; returns how
   * many. `list` never shows such leftovers, so the orphan sweep calls this. Idempotent.
   */
  sweepIncomplete?(olderThan: Date): Promise<number>
  /** Releases resources. Idempotent. */
  close?(): Promise<void>
}
