/**
 * A counting semaphore: at most `max` tasks run at once, the rest wait in order. Image work is
 * CPU bound, so ingest runs files through one of these sized to the cores it may use.
 */
export class Limiter {
  private active = 0
  private readonly waiting: Array<() => void> = []

  constructor(private readonly max: number) {}

  /** Tasks running now, tasks waiting for a slot, and the slots (for metrics). */
  stats(): { active: number; waiting: number; max: number } {
    return { active: this.active, waiting: this.waiting.length, max: this.max }
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) {
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    } else {
      this.active++
    }
    try {
      return await task()
    } finally {
      const next = this.waiting.shift()
      if (next) next()
      else this.active--
    }
  }
}

/**
 * The renders' limiter: a `Limiter` that also counts the renders it has started (the image work
 * itself, after the slot is taken and the task has not been abandoned), for metrics and tests.
 */
export class RenderLimiter extends Limiter {
  #started = 0

  /** Counts one render as started; call it when the image work really begins. */
  markStarted(): void {
    this.#started++
  }

  override stats(): { active: number; waiting: number; max: number; started: number } {
    return { ...super.stats(), started: this.#started }
  }
}

/** Maps items through `fn` with at most `limit` in flight, keeping input order in the result. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index] as T, index)
    }
  })
  await Promise.all(workers)
  return results
}
