import { describe, expect, it } from 'vitest'
import { fittedWidths } from './image-url-signer.js'
import {
  canonicalQuery,
  checkLadderSignature,
  checkSignature,
  DEFAULT_PUBLIC_SIZES,
  DEFAULT_SIGNED_WIDTHS,
  parseImageParams,
  publicImageParams,
  signSrcset,
  signUrl,
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

describe('ladder signatures (photos.signUrls)', () => {
  const secret = 'a-test-secret-of-at-least-32-characters'
  const path = '/image/p1.auto'
  const now = Date.UTC(2026, 0, 1)
  const later = new Date(now + 3_600_000)
  const queryOf = (url: string) => new URL(url, 'http://x').searchParams
  const check = (url: string, p = path) => {
    const query = queryOf(url)
    return checkLadderSignature(secret, p, query, parseImageParams(query), now)
  }

  it('signs every rung with one signature that leaves w out', () => {
    const signed = signSrcset(secret, path, [1080, 640, 640, 16], later, '/media')
    expect(signed.widths).toEqual([16, 640, 1080])
    expect(signed.src).toMatch(/^\/media\/image\/p1\.auto\?w=1080&l=16\.640\.1080&exp=\d+&sig=/)
    const urls = signed.srcset.split(', ').map((c) => c.split(' ')[0]!)
    expect(new Set(urls.map((u) => queryOf(u).get('sig'))).size).toBe(1)
    for (const url of urls) expect(check(url)).toBe('valid')
  })

  it('refuses a width off the ladder, an edited ladder, expiry or path, and unsigned params', () => {
    const url = signSrcset(secret, path, [320, 640], later).src
    const edit = (from: string, to: string) => url.replace(from, to)
    for (const bad of [
      edit('w=640', 'w=500'),
      edit('l=320.640', 'l=320.500.640'),
      edit('l=320.640', 'l=640'),
      edit('l=320.640', 'l=640.320'),
      edit('&exp=', '&exp=1'),
      `${url}&h=10`,
      `${url}&crop=1&h=10`,
      `${url}&q=90`,
      url.replace('w=640&', ''),
    ]) {
      expect(() => check(bad), bad).toThrow(expect.objectContaining({ status: 403 }))
    }
    expect(() => check(url, '/image/p2.auto')).toThrow(/does not match/)
    expect(() => check(url, '/image/p1.jpg')).toThrow(/does not match/)
    const expired = signSrcset(secret, path, [640], new Date(now - 1000)).src
    expect(() => check(expired)).toThrow(/expired/)
  })

  it('never takes an exact signature for a ladder, or a ladder for an exact one', () => {
    // signUrl signs `exp=...&w=640`; with an `l` added the ladder's input is `exp=...&l=...`.
    const exact = signUrl(secret, path, { w: 640 }, later)
    expect(() => check(`${exact}&l=640`)).toThrow(/does not match/)
    const ladder = signSrcset(secret, path, [640], later).src
    const query = queryOf(ladder)
    query.delete('l')
    expect(() => checkSignature(secret, path, query, { w: 640 }, now)).toThrow(/does not match/)
  })
})

describe('fittedWidths', () => {
  const ladder = DEFAULT_SIGNED_WIDTHS
  it('drops rungs above the photo and ends at its own width, within the format caps', () => {
    expect(fittedWidths(ladder, { width: 1000, height: 800 }, 'jpg').slice(-3)).toEqual([
      750, 828, 1000,
    ])
    expect(fittedWidths(ladder, { width: 6000, height: 4000 }, 'webp').at(-1)).toBe(3840)
    expect(fittedWidths(ladder, { width: 6000, height: 4000 }, 'avif').slice(-2)).toEqual([
      2048, 2560,
    ])
    // Portrait: the long edge is bounded to 4096, so the width to 3072.
    expect(fittedWidths(ladder, { width: 6000, height: 8000 }, 'jpg').slice(-2)).toEqual([
      2048, 3072,
    ])
    expect(fittedWidths([96, 256], { width: 4000, height: 3000 }, 'jpg')).toEqual([96, 256])
    expect(fittedWidths([96, 256], { width: 10, height: 10 }, 'jpg')).toEqual([10])
    expect(fittedWidths([96, 256], { width: null, height: null }, 'jpg')).toEqual([96, 256])
  })
})
