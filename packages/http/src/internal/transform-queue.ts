import { HttpProblem } from '../errors.js'

/**
 * Bounds the image route's work: at most `maxConcurrent` transforms run (core's limiter bounds
 * the CPU they use), at most `maxQueue` wait, and one more is a 503 with `Retry-After` instead
 * of an ever-growing queue. Requests for the same key share one run.
 */
export class TransformQueue {
  readonly #maxConcurrent: number
  readonly #maxQueue: number
  readonly #inFlight = new Map<string, Promise<unknown>>()
  readonly #waiting: (() => void)[] = []
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

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const shared = this.#inFlight.get(key)
    if (shared) return shared as Promise<T>
    if (this.#active >= this.#maxConcurrent && this.#waiting.length >= this.#maxQueue) {
      throw new HttpProblem(
        503,
        'SERVICE_UNAVAILABLE',
        'Too many images are being resized; retry shortly.',
        {
          'Retry-After': '1',
        },
      )
    }
    const promise = this.#schedule(task).finally(() => this.#inFlight.delete(key))
    this.#inFlight.set(key, promise)
    return promise
  }

  async #schedule<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#maxConcurrent) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve))
    } else {
      this.#active++
    }
    try {
      return await task()
    } finally {
      const next = this.#waiting.shift()
      if (next) next()
      else this.#active--
    }
  }
}
