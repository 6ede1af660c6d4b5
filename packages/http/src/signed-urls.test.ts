import { describe, expect, it } from 'vitest'
import {
  canonicalQuery,
  DEFAULT_PUBLIC_SIZES,
  publicImageParams,
  snapImageParams,
  snapToLadder,
} from './signed-urls.js'

/** How far a query is normalised for the owner (steps) and for anyone else (the ladder). */

describe('publicImageParams', () => {
  it('snaps w and h up the ladder, to its top above it', () => {
    expect(snapToLadder(1, DEFAULT_PUBLIC_SIZES)).toBe(100)
    expect(snapToLadder(300, DEFAULT_PUBLIC_SIZES)).toBe(300)
    expect(snapToLadder(301, DEFAULT_PUBLIC_SIZES)).toBe(320)
    expect(snapToLadder(4096, DEFAULT_PUBLIC_SIZES)).toBe(2560)
    expect(publicImageParams({ w: 333, h: 222, crop: true }, DEFAULT_PUBLIC_SIZES)).toEqual({
      w: 400,
      h: 300,
      crop: true,
    })
  })

  it('drops a crop of one side (it changes nothing), so both spellings share a key', () => {
    const cropped = publicImageParams({ w: 300, crop: true }, [300])
    expect(canonicalQuery(cropped)).toBe(canonicalQuery(publicImageParams({ w: 300 }, [300])))
    expect(canonicalQuery(snapImageParams({ h: 64, crop: true }))).toBe('h=64')
  })

  it('refuses q, naming it and the way out', () => {
    expect(() => publicImageParams({ w: 300, q: 50 }, DEFAULT_PUBLIC_SIZES)).toThrow(
      /"q" parameter needs a signed URL.*Sign the URL/,
    )
  })

  it('makes a fixed, small set of renditions out of every query', () => {
    const keys = new Set<string>()
    for (let w = 1; w <= 4096; w += 7) {
      for (const h of [undefined, w, Math.round(w / 2)]) {
        for (const crop of [false, true]) {
          const params = publicImageParams(
            { w, ...(h ? { h } : {}), ...(crop ? { crop } : {}) },
            DEFAULT_PUBLIC_SIZES,
          )
          keys.add(canonicalQuery(params))
        }
      }
    }
    // At most 17 widths x (no h, or 17 heights x crop or not).
    expect(keys.size).toBeLessThanOrEqual(17 * (1 + 17 * 2))
  })
})
