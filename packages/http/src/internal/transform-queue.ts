import { HttpProblem } from '../errors.js'

/**
 * Admits the image route's renders: at most `maxConcurrent` run (the engine's render slots, apart
 * from ingest's), at most `maxQueue` wait, and one more is a 503 with `Retry-After` instead of an
 * ever-growing queue.
 *
 * - Requests for the same key share one run (single flight): a burst of identical misses renders
 *   once.
 * - A run belongs to the requests waiting for it. When every one of them has gone (its signal
 *   aborted: the client disconnected), a run that has not started is dropped from the queue and
 *   never starts, and one that has started is told through its own signal (the engine stops
 *   before the image work if it has not begun). A later request for the key starts afresh.
 */
export class TransformQueue {
  readonly #maxConcurrent: number
  readonly #maxQueue: number
  readonly #runs = new Map<string, Run>()
  readonly #waiting: Run[] = []
  #active = 0

  constructor(options: { maxConcurrent: number; maxQueue: number }) {
    this.#maxConcurrent = Math.max(1, options.maxConcurrent)
    this.#maxQueue = Math.max(0, options.maxQueue)
  }

  get active(): number {
    return this.#active
  }

  get waiting(): number {
    return this.#waiting.length
  }

  /**
   * `task`'s result, run once for every concurrent caller of `key`. `signal` is the caller's
   * (its request's): when it aborts, this caller's promise rejects with its reason at once.
   */
  run<T>(key: string, task: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted()
    let run = this.#runs.get(key)
    if (!run) {
      if (this.#active >= this.#maxConcurrent && this.#waiting.length >= this.#maxQueue) {
        throw new HttpProblem(
          503,
          'SERVICE_UNAVAILABLE',
          'Too many images are being resized; retry shortly.',
          { 'Retry-After': '1' },
        )
      }
      run = this.#create(key, task as (signal: AbortSignal) => Promise<unknown>)
    }
    return this.#join(run, signal) as Promise<T>
  }

  #create(key: string, task: (signal: AbortSignal) => Promise<unknown>): Run {
    let settle!: { resolve: (value: unknown) => void; reject: (error: unknown) => void }
    const result = new Promise<unknown>((resolve, reject) => (settle = { resolve, reject }))
    // Nobody may be listening any more when it settles (every caller gone).
    result.catch(() => undefined)
    const run: Run = {
      key,
      callers: 0,
      started: false,
      controller: new AbortController(),
      result,
      start: () => {
        run.started = true
        task(run.controller.signal)
          .then(settle.resolve, settle.reject)
          .finally(() => {
            if (this.#runs.get(key) === run) this.#runs.delete(key)
            this.#release()
          })
      },
      drop: (reason: unknown) => settle.reject(reason),
    }
    this.#runs.set(key, run)
    if (this.#active < this.#maxConcurrent) {
      this.#active++
      run.start()
    } else {
      this.#waiting.push(run)
    }
    return run
  }

  #join(run: Run, signal: AbortSignal | undefined): Promise<unknown> {
    run.callers++
    if (!signal) return run.result
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        reject(signal.reason)
        this.#leave(run, signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      run.result.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }

  /** A caller has gone: the last one takes the run with it. */
  #leave(run: Run, reason: unknown): void {
    if (--run.callers > 0) return
    if (this.#runs.get(run.key) === run) this.#runs.delete(run.key)
    if (run.started) {
      run.controller.abort(reason)
      return
    }
    const index = this.#waiting.indexOf(run)
    if (index >= 0) this.#waiting.splice(index, 1)
    run.drop(reason)
  }

  /** A run has finished: its slot goes to the next waiting run, if any. */
  #release(): void {
    const next = this.#waiting.shift()
    if (next) next.start()
    else this.#active--
  }
}

interface Run {
  key: string
  /** Requests waiting for it. */
  callers: number
  started: boolean
  /** Aborted when every caller has gone after it started. */
  controller: AbortController
  result: Promise<unknown>
  start(): void
  drop(reason: unknown): void
}
