import { describe, expect, it } from 'vitest'
import { UploadRateLimiter } from './rate-limit.js'

describe('UploadRateLimiter', () => {
  it('0 turns the limit off', () => {
    const off = new UploadRateLimiter({ perMinute: 0 })
    for (let i = 0; i < 10_000; i++) off.take('owner:x')
    expect(off.enabled).toBe(false)
  })

  it('refuses past the burst with RATE_LIMITED and a retry time, then refills', () => {
    let t = 0
    const limiter = new UploadRateLimiter({ perMinute: 3, clock: { now: () => new Date(t) } })
    for (let i = 0; i < 3; i++) limiter.take('owner:a')
    expect(() => limiter.take('owner:a')).toThrow(
      expect.objectContaining({ code: 'RATE_LIMITED', retryAfterMs: 20_000 }),
    )
    limiter.take('owner:b')
    t += 20_000
    limiter.take('owner:a')
  })

  it('buckets do not grow without bound', () => {
    let t = 0
    const limiter = new UploadRateLimiter({
      perMinute: 60,
      clock: { now: () => new Date(t) },
      maxBuckets: 100,
    })
    for (let i = 0; i < 10_000; i++) {
      t += 1_000
      limiter.take(`ip:10.0.${i >> 8}.${i & 255}`)
    }
    // Every bucket refills within a minute: at most a minute's worth of callers is kept.
    expect(limiter.size).toBeLessThanOrEqual(101)
  })
})
