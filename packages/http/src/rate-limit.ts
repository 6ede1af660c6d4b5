import { DarkroomError, systemClock, type Caller, type Clock } from '@darkroom/core'

/**
 * Per-caller rate limits on upload requests (a tRPC `photos.upload` call, a tus POST), as token
 * buckets: each bucket holds up to `perMinute` tokens (the burst) and refills at `perMinute` a
 * minute; a request takes one token or is refused with `RATE_LIMITED` (429, `Retry-After`).
 *
 * A bucket belongs to an owner (all of an owner's keys share it, so minting keys does not buy
 * more uploads); guests, who share one owner, get a bucket per client IP instead. Buckets live
 * in this process's memory: several processes each allow `perMinute`. Full buckets are dropped
 * when the map grows, so memory stays bounded by the callers active within a minute.
 */

export interface UploadRateLimiterOptions {
  /** Upload requests per minute per bucket; 0 turns the limit off. */
  perMinute: number
  clock?: Clock
  /** The map is swept of full buckets when it holds more than this many. */
  maxBuckets?: number
}

interface Bucket {
  tokens: number
  at: number
}

export class UploadRateLimiter {
  readonly #perMinute: number
  readonly #clock: Clock
  readonly #maxBuckets: number
  readonly #buckets = new Map<string, Bucket>()

  constructor(options: UploadRateLimiterOptions) {
    this.#perMinute = Math.max(0, options.perMinute)
    this.#clock = options.clock ?? systemClock
    this.#maxBuckets = options.maxBuckets ?? 10_000
  }

  /** Buckets held in memory now. */
  get size(): number {
    return this.#buckets.size
  }

  get enabled(): boolean {
    return this.#perMinute > 0
  }

  /** The bucket a request counts against. */
  static bucketOf(caller: Caller, guest: boolean, ip: string | undefined): string {
    return guest ? `ip:${ip ?? 'unknown'}` : `owner:${caller.ownerId}`
  }

  /** Takes one token from `bucket`, or throws `RATE_LIMITED` saying when to retry. */
  take(bucket: string): void {
    if (!this.enabled) return
    const now = this.#clock.now().getTime()
    const perMs = this.#perMinute / 60_000
    const current = this.#buckets.get(bucket)
    const tokens = current
      ? Math.min(this.#perMinute, current.tokens + (now - current.at) * perMs)
      : this.#perMinute
    if (tokens < 1) {
      this.#buckets.set(bucket, { tokens, at: now })
      const retryAfterMs = Math.ceil((1 - tokens) / perMs)
      const retryAfterSec = Math.max(1, Math.ceil(retryAfterMs / 1000))
      throw new DarkroomError(
        'RATE_LIMITED',
        `Too many uploads: at most ${this.#perMinute} a minute. Retry in ${retryAfterSec} s.`,
        { retryAfterMs },
      )
    }
    this.#buckets.set(bucket, { tokens: tokens - 1, at: now })
    if (this.#buckets.size > this.#maxBuckets) this.#sweep(now, perMs)
  }

  #sweep(now: number, perMs: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.at) * perMs >= this.#perMinute) this.#buckets.delete(key)
    }
  }
}
