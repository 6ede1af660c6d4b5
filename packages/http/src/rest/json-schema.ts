import { z } from 'zod'

/**
 * JSON Schema (2020-12, the dialect of OpenAPI 3.1) of the router's zod schemas, by zod's own
 * `z.toJSONSchema`: `io: 'input'` describes what a client sends (before transforms and
 * defaults), `io: 'output'` what it gets back. What JSON Schema cannot say (a custom check, a
 * transform's result) becomes `{}`, any value, rather than failing.
 */

export interface JsonSchema {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  allOf?: JsonSchema[]
  enum?: unknown[]
  const?: unknown
  [keyword: string]: unknown
}

export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema
  delete json.$schema
  return json
}

/** The JSON types a schema allows (`string`, `integer`, `null` ...); empty: any. */
export function typesOf(schema: JsonSchema): Set<string> {
  const out = new Set<string>()
  if (typeof schema.type === 'string') out.add(schema.type)
  else if (Array.isArray(schema.type)) for (const t of schema.type) out.add(t)
  for (const branch of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) {
    for (const t of typesOf(branch)) out.add(t)
  }
  const values = schema.enum ?? ('const' in schema ? [schema.const] : [])
  if (out.size === 0) for (const v of values) out.add(v === null ? 'null' : typeof v)
  return out
}
