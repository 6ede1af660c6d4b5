import { Readable } from 'node:stream'
import { assertBlobKey, assertBlobPrefix } from '../domain/assert-blob-key.js'
import { resolveByteRange } from '../domain/byte-range.js'
import { DarkroomError } from '../errors.js'
import type { BlobBody, BlobInfo, BlobStore, ByteRange } from '../ports/blob-store.js'

/**
 * Blobs in memory, for tests; passes `describeBlobStoreContract`. A body is read whole before
 * it is stored, so a failing stream stores nothing and readers never see part of a blob.
 * Ranges past the end are clamped (a start at or past the end gives an empty stream).
 */
interface MemoryBlob {
  bytes: Uint8Array
  lastModified: Date
  contentType: string | undefined
}

export class MemoryBlobStore implements BlobStore {
  readonly #blobs = new Map<string, MemoryBlob>()

  async put(
    key: string,
    body: BlobBody,
    options: { contentType?: string } = {},
  ): Promise<{ size: number }> {
    assertBlobKey(key)
    const bytes = await readAll(body)
    this.#blobs.set(key, { bytes, lastModified: new Date(), contentType: options.contentType })
    return { size: bytes.byteLength }
  }

  async get(key: string, range?: ByteRange): Promise<Readable | null> {
    assertBlobKey(key)
    const blob = this.#blobs.get(key)
    if (!blob) return null
    const { start, end } = resolveByteRange(range, blob.bytes.byteLength)
    return Readable.from([Buffer.from(blob.bytes.subarray(start, end))])
  }

  async stat(key: string): Promise<BlobInfo | null> {
    assertBlobKey(key)
    const blob = this.#blobs.get(key)
    return blob ? info(key, blob) : null
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key)
    this.#blobs.delete(key)
  }

  async copy(from: string, to: string): Promise<void> {
    assertBlobKey(from, 'from')
    assertBlobKey(to, 'to')
    const blob = this.#blobs.get(from)
    if (!blob) throw DarkroomError.notFound('Blob', from)
    // Stored bytes are never written to, so the copy may share them.
    this.#blobs.set(to, { ...blob, lastModified: new Date() })
  }

  async *list(prefix = ''): AsyncIterable<BlobInfo> {
    assertBlobPrefix(prefix)
    for (const [key, blob] of [...this.#blobs]) {
      if (key.startsWith(prefix)) yield info(key, blob)
    }
  }

  async close(): Promise<void> {}
}

function info(key: string, blob: MemoryBlob): BlobInfo {
  return { key, size: blob.bytes.byteLength, lastModified: new Date(blob.lastModified) }
}

async function readAll(body: BlobBody): Promise<Uint8Array> {
  // Buffer.concat copies, so the caller may reuse its buffers (Buffer#slice would not copy).
  if (body instanceof Uint8Array) return Buffer.concat([body])
  const chunks: Uint8Array[] = []
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  }
  return Buffer.concat(chunks)
}
