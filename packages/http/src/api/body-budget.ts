import { formatBytes } from '@darkroom/core'
import { HttpProblem } from '../errors.js'

/**
 * One budget for the request bodies the handler holds at once, whatever route reads them: JSON
 * buffered in memory, multipart files spooled to temporary files. Each route bounds one body
 * (1 MiB of JSON, a form's files); this bounds them all together, so that many concurrent
 * large bodies cannot fill the memory or the disk.
 *
 * A request with a body takes a reservation before a byte is read (`open`): its declared
 * `Content-Length`, refused at once when it does not fit now (503 with `Retry-After`: others
 * hold the room and will give it back) or never could (413). A body without a length reserves
 * as it arrives (`count`), and is cut off with the same 503 when the room runs out. The
 * reservation is given back when the request is answered (`close`): its temporary files are
 * removed by then, its buffers are garbage. tus uploads are not counted: they are written
 * where they will stay, bounded by the unfinished-uploads caps.
 */
export class BodyBudget {
  readonly maxBytes: number
  #used = 0
  readonly #held = new WeakMap<Request, { bytes: number }>()

  constructor(maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
      throw new TypeError(`BodyBudget: maxBytes must be a whole number ≥ 1 (got ${maxBytes})`)
    }
    this.maxBytes = maxBytes
  }

  /** Bytes reserved by the requests in flight. */
  get used(): number {
    return this.#used
  }

  /**
   * Reserves `request`'s declared length before its body is read; throws 413 when the body
   * could never fit, 503 (`Retry-After`) when it does not fit now. A request without a body,
   * or already open, reserves nothing more.
   */
  open(request: Request): void {
    if (this.#held.has(request) || !hasBody(request)) return
    const declared = Number(request.headers.get('content-length') ?? NaN)
    const bytes = Number.isSafeInteger(declared) && declared > 0 ? declared : 0
    if (bytes > this.maxBytes) {
      throw new HttpProblem(
        413,
        'PAYLOAD_TOO_LARGE',
        `The request body (${formatBytes(bytes)}) is over the ${formatBytes(this.maxBytes)} ` +
          'the server takes in at once; send large files with tus (resumable uploads).',
      )
    }
    this.#grow(bytes)
    this.#held.set(request, { bytes })
  }

  /**
   * `request` has read `seen` bytes of its body: what passes its reservation is reserved now,
   * or the body is refused (503). Nothing for a request that was not opened.
   */
  count(request: Request, seen: number): void {
    const held = this.#held.get(request)
    if (!held || seen <= held.bytes) return
    this.#grow(seen - held.bytes)
    held.bytes = seen
  }

  /** Gives back what `request` reserved; safe to call twice. */
  close(request: Request): void {
    const held = this.#held.get(request)
    if (!held) return
    this.#held.delete(request)
    this.#used -= held.bytes
  }

  #grow(bytes: number): void {
    if (this.#used + bytes > this.maxBytes) {
      throw new HttpProblem(
        503,
        'SERVICE_UNAVAILABLE',
        `The server is taking in as many request bodies as it holds at once ` +
          `(${formatBytes(this.maxBytes)}); retry shortly.`,
        { 'Retry-After': '1' },
      )
    }
    this.#used += bytes
  }
}

/**
 * Whether the request has a body, by its headers; a request read from a Node socket is not
 * asked for its `body` (that would start reading it as a web stream).
 */
function hasBody(request: Request): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') return false
  const length = request.headers.get('content-length')
  if (length !== null) return length.trim() !== '0'
  if (request.headers.has('transfer-encoding')) return true
  const fromNode = (request as { runtime?: { node?: unknown } }).runtime?.node !== undefined
  return !fromNode && request.body !== null
}
