import { describe, expect, it } from 'vitest'
import { makePhotoRecord } from '../testing/builders.js'
import {
  compareBinary,
  compareKeysets,
  sortValue,
  takenSortKey,
  validatePhotoPaging,
} from './sort.js'

describe('sort', () => {
  it('takenSortKey keeps the wall clock and falls back to the upload time in UTC', () => {
    const createdAt = new Date('2024-01-02T03:04:05.678Z')
    expect(takenSortKey('2021-05-01T10:00:00+02:00', createdAt)).toBe('2021-05-01T10:00:00')
    expect(takenSortKey('2021-05-01T10:00:00', createdAt)).toBe('2021-05-01T10:00:00')
    expect(takenSortKey(null, createdAt)).toBe('2024-01-02T03:04:05')
  })

  it('sortValue per sort', () => {
    const p = makePhotoRecord({
      createdAt: new Date(1000),
      takenAt: null,
      filename: 'f',
      size: 7,
      ratingSum: 7,
      ratingCount: 2,
      position: 'a0',
    })
    expect(sortValue(p, 'uploaded')).toBe(1000)
    expect(sortValue(p, 'taken')).toBe('1970-01-01T00:00:01')
    expect(sortValue(p, 'filename')).toBe('f')
    expect(sortValue(p, 'size')).toBe(7)
    expect(sortValue(p, 'rating')).toBe(3.5)
    expect(sortValue({ ...p, ratingCount: 0 }, 'rating')).toBe(0)
    expect(sortValue(p, 'position')).toBe('a0')
  })

  it('compareBinary orders by code point, as UTF-8 bytes do', () => {
    const words = ['\u{1f600}', '\uff5a', 'é', 'b', 'a', 'B', 'ab', '']
    expect([...words].sort(compareBinary)).toEqual([
      '',
      'B',
      'a',
      'ab',
      'b',
      'é',
      '\uff5a',
      '\u{1f600}',
    ])
    const utf8 = [...words].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
    expect([...words].sort(compareBinary)).toEqual(utf8)
  })

  it('compareKeysets breaks ties by id in the order’s direction', () => {
    expect(compareKeysets({ value: 1, id: 'a' }, { value: 1, id: 'b' }, 'asc')).toBe(-1)
    expect(compareKeysets({ value: 1, id: 'a' }, { value: 1, id: 'b' }, 'desc')).toBe(1)
    expect(compareKeysets({ value: 2, id: 'a' }, { value: 1, id: 'b' }, 'asc')).toBe(1)
  })

  it('validatePhotoPaging refuses bad limits, offsets and keysets', () => {
    const q = { ownerId: 'o', sort: 'size' as const, order: 'asc' as const, limit: 10 }
    expect(() => validatePhotoPaging(q)).not.toThrow()
    expect(() => validatePhotoPaging({ ...q, limit: 1.5 })).toThrow(/limit/)
    expect(() => validatePhotoPaging({ ...q, offset: -1 })).toThrow(/offset/)
    expect(() => validatePhotoPaging({ ...q, after: { value: 'x', id: 'i' } })).toThrow(/keyset/)
    expect(() =>
      validatePhotoPaging({ ...q, sort: 'filename', after: { value: 'x', id: 'i' } }),
    ).not.toThrow()
  })
})
