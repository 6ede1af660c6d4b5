import { DarkroomError } from '@darkroom/core'
import { describe, expect, it } from 'vitest'
import type { JsonSchema } from './json-schema.js'
import { queryInput } from './query.js'

const schema: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    albumId: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'null' }] },
    hidden: { type: 'boolean' },
    limit: { type: 'integer', minimum: 1 },
    ratio: { type: 'number' },
    sort: { type: 'string', enum: ['taken', 'size'] },
    ids: { type: 'array', items: { type: 'string' } },
    sizes: { type: 'array', items: { type: 'integer' } },
  },
}

const read = (query: string, pathKeys: string[] = []) =>
  queryInput(new URLSearchParams(query), schema, pathKeys)

function violations(query: string, pathKeys: string[] = []) {
  try {
    read(query, pathKeys)
  } catch (error) {
    expect(error).toBeInstanceOf(DarkroomError)
    return (error as DarkroomError).violations
  }
  throw new Error(`expected ${query} to be refused`)
}

describe('queryInput', () => {
  it('reads each value by its JSON type, and sets only the keys given', () => {
    expect(read('')).toEqual({})
    expect(
      read('hidden=false&limit=20&ratio=1.5&sort=taken&ids=a&ids=b&sizes=3&albumId=x'),
    ).toEqual({
      hidden: false,
      limit: 20,
      ratio: 1.5,
      sort: 'taken',
      ids: ['a', 'b'],
      sizes: [3],
      albumId: 'x',
    })
    expect(read('albumId=')).toEqual({ albumId: null })
    expect(Object.keys(read('hidden=true'))).toEqual(['hidden'])
  })

  it('leaves what is not strictly of the type a string, for the schema to refuse by name', () => {
    expect(read('hidden=yes&limit=1e3&ratio=0x10')).toEqual({
      hidden: 'yes',
      limit: '1e3',
      ratio: '0x10',
    })
    expect(read('limit=%205&hidden=TRUE')).toEqual({ limit: ' 5', hidden: 'TRUE' })
    expect(read('limit=05')).toEqual({ limit: '05' })
    // A decimal is a number; the schema says an integer is wanted.
    expect(read('limit=1.5')).toEqual({ limit: 1.5 })
  })

  it('refuses unknown keys, keys of the path and non-array repeats, naming each', () => {
    expect(violations('colour=red&__proto__=x')).toEqual([
      expect.objectContaining({ property: 'colour', reason: 'unrecognized_keys' }),
      expect.objectContaining({ property: '__proto__', reason: 'unrecognized_keys' }),
    ])
    expect(violations('colour=red')[0]!.message).toBe(
      'Unknown key "colour". Allowed: id, albumId, hidden, limit, ratio, sort, ids, sizes.',
    )
    expect(violations('id=x', ['id'])).toEqual([expect.objectContaining({ property: 'id' })])
    expect(violations('limit=1&limit=2')).toEqual([
      expect.objectContaining({ property: 'limit', reason: 'repeated_key' }),
    ])
    const none = (() => {
      try {
        queryInput(new URLSearchParams('a=1'), null, [])
      } catch (error) {
        return (error as DarkroomError).violations
      }
    })()
    expect(none).toEqual([
      expect.objectContaining({
        property: 'a',
        message: 'Unknown key "a". This path takes no query.',
      }),
    ])
  })
})
