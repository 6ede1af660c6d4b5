import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { DarkroomError } from '../../../errors.js'
import { tooLargeMessage } from '../../../internal/bytes.js'

/**
 * Reads an upload's stream once, in order, hashing (sha256) and counting every chunk as it
 * passes, so the checksum costs no second read. It can hold chunks in memory (`fill`) and then
 * hand them on, followed by the rest of the stream (`drain`), without copying them.
 */
export class ChunkReader {
  /** Bytes read so far. */
  size = 0
  private readonly iterator: AsyncIterator<Uint8Array>
  private readonly hash = createHash('sha256')
  private readonly held: Buffer[] = []
  private heldBytes = 0
  private ended = false

  constructor(private readonly source: Readable | AsyncIterable<Uint8Array>) {
    this.iterator = (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
  }

  /** Holds chunks until more than `maxBytes` have come (false) or the stream ends (true). */
  async fill(maxBytes: number): Promise<boolean> {
    while (this.size <= maxBytes) {
      const chunk = await this.next()
      if (chunk === null) return true
      this.held.push(chunk)
      this.heldBytes += chunk.byteLength
    }
    return false
  }

  /** Every byte held, as one Buffer. */
  bytes(): Buffer {
    return Buffer.concat(this.held, this.heldBytes)
  }

  /** The first bytes held: at least `minBytes` of them when that many are held. */
  head(minBytes: number): Buffer {
    const chunks: Buffer[] = []
    let bytes = 0
    for (const chunk of this.held) {
      if (bytes >= minBytes) break
      chunks.push(chunk)
      bytes += chunk.byteLength
    }
    return Buffer.concat(chunks, bytes)
  }

  /**
   * The chunks held (let go of as they are handed on), then the rest of the stream. Throws
   * `PAYLOAD_TOO_LARGE` as soon as more than `maxBytes` have come.
   */
  async *drain(maxBytes: number): AsyncGenerator<Buffer> {
    for (let chunk = this.held.shift(); chunk; chunk = this.held.shift()) {
      this.heldBytes -= chunk.byteLength
      if (this.size - this.heldBytes > maxBytes) throw tooLarge(maxBytes)
      yield chunk
    }
    for (let chunk = await this.next(); chunk; chunk = await this.next()) {
      if (this.size > maxBytes) throw tooLarge(maxBytes)
      yield chunk
    }
  }

  /** sha256 of every byte read, hex. Call once, after the last chunk. */
  digest(): string {
    return this.hash.digest('hex')
  }

  /** Stops reading: a stream that was not read to its end is destroyed. */
  close(): void {
    if (this.source instanceof Readable && !this.source.readableEnded) this.source.destroy()
  }

  private async next(): Promise<Buffer | null> {
    if (this.ended) return null
    const next = await this.iterator.next()
    if (next.done) {
      this.ended = true
      return null
    }
    const chunk = next.value
    this.size += chunk.byteLength
    this.hash.update(chunk)
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  }
}

function tooLarge(maxBytes: number): DarkroomError {
  return new DarkroomError('PAYLOAD_TOO_LARGE', tooLargeMessage(null, maxBytes))
}
