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
 * A budget of some amount (bytes of memory) shared by tasks that each take a part of it: a task
 * waits until its part is free, in order of arrival (a large task is not starved by small ones
 * that keep arriving behind it). A part larger than the whole budget runs once nothing else
 * holds any, alone: too large to share is not a reason to never run.
 */
export class Budget {
  private used = 0
  private holders = 0
  private readonly waiting: Array<{ amount: number; start: () => void }> = []

  constructor(private readonly total: number) {}

  /** What is taken now, what is waiting, and the whole (for metrics). */
  stats(): { used: number; waiting: number; total: number } {
    return { used: this.used, waiting: this.waiting.length, total: this.total }
  }

  async run<T>(amount: number, task: () => Promise<T>): Promise<T> {
    const part = Math.min(Math.max(0, amount), this.total)
    if (this.waiting.length > 0 || !this.fits(part)) {
      await new Promise<void>((start) => this.waiting.push({ amount: part, start }))
    } else {
      this.take(part)
    }
    try {
      return await task()
    } finally {
      this.used -= part
      this.holders--
      this.wake()
    }
  }

  private fits(part: number): boolean {
    return this.holders === 0 || this.used + part <= this.total
  }

  private take(part: number): void {
    this.used += part
    this.holders++
  }

  private wake(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.amount)) {
      const next = this.waiting.shift()!
      this.take(next.amount)
      next.start()
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
