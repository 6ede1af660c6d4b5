import type { Caller } from '@darkroom/core'
import type { Lock, Locker } from '@tus/utils'
import type { DeclaredChecksum } from './checksum.js'

/**
 * Per-request state of a tus request, and which request holds each upload's lock.
 *
 * `@tus/server` hands the `Request` to its hooks and to the `locker` option, but calls the
 * datastore with an upload id only (`write(stream, id, offset)`). Under an upload's lock,
 * exactly one request of this process works on that id, so the locker given to tus records
 * which request took each lock, and the datastore finds its request by the id it is given:
 * the caller and the declared checksum go in, the ingested photo comes out, with no ambient
 * context. A write with no request holding its lock is refused: Darkroom's rules (and the
 * ingest) never run outside the upload's lock.
 *
 * The handler's own work outside tus (concatenation, recovery on HEAD, the expiry sweep) holds
 * locks with `hold`, on the same locker.
 */

export interface UploadRequest {
  readonly caller: Caller
  /** The request's `Upload-Checksum`, for the store to verify. */
  readonly checksum: DeclaredChecksum | null
  /** Set by the store when this request's write completed the upload and ingested it. */
  ingested?: { uploadId: string; photoId: string }
  /** Set when tus answered with an error the handler mapped (its body is JSON). */
  answeredJson?: boolean
  /** A guest's request: the ticket its uploads are bound to (guest-ticket.ts). */
  readonly guest?: GuestTicket
}

/** A guest's ticket; `fresh`: made for this request, to be set as its cookie. */
export interface GuestTicket {
  ticket: string
  fresh: boolean
}

export class RequestLocks {
  readonly #locker: Locker
  readonly #requests = new WeakMap<Request, UploadRequest>()
  readonly #holders = new Map<string, UploadRequest>()

  constructor(locker: Locker) {
    this.#locker = locker
  }

  /** Gives `request` its state, before tus handles it. */
  begin(request: Request, state: UploadRequest): UploadRequest {
    this.#requests.set(request, state)
    return state
  }

  stateOf(request: Request): UploadRequest | undefined {
    return this.#requests.get(request)
  }

  /** The `locker` option of tus' Server: the locker, noting which request holds what. */
  readonly lockerFor = (request: Request): Locker => {
    const state = this.#requests.get(request)
    if (!state) return this.#locker
    return { newLock: (id) => this.#noted(this.#locker.newLock(id), id, state) }
  }

  /** The request that holds `id`'s lock in this process. */
  holderOf(id: string): UploadRequest {
    const state = this.#holders.get(id)
    if (!state) throw new Error(`Upload ${id} was written without holding its lock.`)
    return state
  }

  /** Runs `fn` holding the locks of `ids` (taken in order, so two holders never deadlock). */
  async hold<T>(ids: readonly string[], fn: () => Promise<T>): Promise<T> {
    const held: Lock[] = []
    try {
      for (const id of [...ids].sort()) {
        const lock = this.#locker.newLock(id)
        await lock.lock(new AbortController().signal, () => {})
        held.push(lock)
      }
      return await fn()
    } finally {
      for (const lock of held.reverse()) await lock.unlock()
    }
  }

  #noted(lock: Lock, id: string, state: UploadRequest): Lock {
    return {
      lock: async (signal, requestRelease) => {
        await lock.lock(signal, requestRelease)
        this.#holders.set(id, state)
      },
      unlock: async () => {
        if (this.#holders.get(id) === state) this.#holders.delete(id)
        await lock.unlock()
      },
    }
  }
}
