import { MAX_GET_MANY, MAX_PAGE_SIZE, type PhotoSort } from '@darkroom/core'
import { z } from 'zod'
import { parseInput } from '../../api/json-body.js'

/**
 * What the image host's routes accept, strictly: every query, path parameter and JSON body goes
 * through a strict schema, so an unknown key is a 422 violation naming it, never ignored.
 */

/** The seed's `orderBy` values, on core's sorts (newest first for dates, else ascending). */
export const ORDER_BY = {
  // Core keeps no order of updates: a photo's place is its upload time.
  'attributes.updatedAt': 'uploaded',
  'attributes.createdAt': 'uploaded',
  'attributes.fileName': 'filename',
  'metadata.size': 'size',
} as const satisfies Record<string, PhotoSort>

type OrderBy = keyof typeof ORDER_BY

/** The seed's `searchBy` values; core matches the term in the file name or the description. */
const SEARCH_BY = ['attributes.fileName', 'attributes.description'] as const

const ORDER_BY_VALUES = Object.keys(ORDER_BY) as [OrderBy, ...OrderBy[]]

/** A whole number from 1, written in decimal (`page`, `limit`). */
function wholeNumber(name: string, max: number) {
  return z
    .string()
    .regex(/^[1-9][0-9]{0,8}$/, `${name} is a whole number from 1.`)
    .transform(Number)
    .pipe(z.number().max(max, `${name} is at most ${max}.`))
}

function oneOf<const T extends readonly [string, ...string[]]>(name: string, values: T) {
  return z.enum(values, {
    error: (issue) =>
      `Unknown ${name} ${JSON.stringify(issue.input)}; use one of ${values.join(', ')}.`,
  })
}

export const pagePath = z.strictObject({ page: wholeNumber('page', 1_000_000_000) })

export const listQuery = z.strictObject({
  limit: wholeNumber('limit', MAX_PAGE_SIZE).optional(),
  orderBy: oneOf('orderBy', ORDER_BY_VALUES).optional(),
  searchTerm: z.string().optional(),
  searchBy: oneOf('searchBy', SEARCH_BY).optional(),
  cursor: z.string().min(1).optional(),
})

export const uuidQuery = z.strictObject({
  'uuid[]': z
    .array(z.string().min(1).max(64))
    .max(MAX_GET_MANY, `uuid[] holds at most ${MAX_GET_MANY} ids.`)
    .optional(),
})

export const noQuery = z.strictObject({})

export const patchBody = z.strictObject({
  description: z.string().optional(),
  isPublic: z.boolean().optional(),
})

/** The body may be left out: the files then go too, as with `preserveOnDisk: false`. */
export const deleteBody = z.strictObject({ preserveOnDisk: z.boolean().optional() }).optional()

/** `url`'s query parsed by a strict schema (see `queryOf`). */
export function parseQuery<S extends z.ZodType>(schema: S, url: URL): z.output<S> {
  return parseInput(schema, queryOf(url))
}

/**
 * A query as an object: `name[]` (PHP's list syntax) as an array, any other name as its value,
 * or as an array when it repeats (which the schema refuses, naming it).
 */
function queryOf(url: URL): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const name of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(name)
    out[name] = name.endsWith('[]') || values.length > 1 ? values : values[0]!
  }
  return out
}
