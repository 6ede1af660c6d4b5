import type { IncomingMessage } from 'node:http'

/**
 * Reports each chunk of a request body as Node's HTTP parser hands it to the request stream,
 * whoever reads it and however far it gets (an upload cut off halfway counts what arrived).
 *
 * Why not a `'data'` listener: attaching one switches the stream into flowing mode, and chunks
 * emitted before the real reader (tus, tRPC) attaches would be lost to it. The parser feeds the
 * stream through `push()` (`parserOnBody` in Node's `_http_common`), so wrapping that one
 * method of this one request sees every byte without changing how the stream is consumed.
 */
export function countBodyBytes(req: IncomingMessage, onBytes: (bytes: number) => void): void {
  const push = req.push
  req.push = function countedPush(
    this: IncomingMessage,
    chunk: unknown,
    encoding?: BufferEncoding,
  ) {
    if (chunk !== null && chunk !== undefined) {
      const bytes =
        typeof chunk === 'string'
          ? Buffer.byteLength(chunk, encoding)
          : (chunk as { byteLength?: number }).byteLength
      if (bytes) onBytes(bytes)
    }
    return push.call(this, chunk, encoding)
  }
}
