import { DarkroomError, type Violation } from '@darkroom/core'
import { typesOf, type JsonSchema } from './json-schema.js'

/**
 * A query string as a procedure's input, each value read by the JSON type its property allows:
 * `true`/`false` for a boolean (nothing else: `yes` stays a string and the schema refuses it,
 * naming the property), a plain decimal for a number (`1e3`, `0x10`, ` 5` stay strings), an
 * empty value for null where null is allowed (`albumId=`: outside any album), and each repeat of
 * a key as one item of an array (`ids=a&ids=b`). A key the input does not declare, or a
 * non-array key given twice, is a `VALIDATION` violation naming it. Only keys present in the
 * query are set: coercion never adds one.
 */
export function queryInput(
  params: URLSearchParams,
  schema: JsonSchema | null,
  /** Keys the path gives; not taken from the query. */
  pathKeys: readonly string[],
): Record<string, unknown> {
  const properties = schema?.properties ?? {}
  const allowed = Object.keys(properties).filter((k) => !pathKeys.includes(k))
  const values = new Map<string, string[]>()
  for (const [key, value] of params) {
    const list = values.get(key)
    if (list) list.push(value)
    else values.set(key, [value])
  }
  const input: Record<string, unknown> = {}
  const violations: Violation[] = []
  for (const [key, raw] of values) {
    const property = Object.hasOwn(properties, key) ? properties[key] : undefined
    if (!property || !allowed.includes(key)) {
      violations.push({
        property: key,
        message: `Unknown key ${JSON.stringify(key)}. ${
          allowed.length > 0 ? `Allowed: ${allowed.join(', ')}.` : 'This path takes no query.'
        }`,
        reason: 'unrecognized_keys',
      })
      continue
    }
    let value: unknown
    if (typesOf(property).has('array')) {
      value = raw.map((v) => coerce(v, property.items ?? {}))
    } else if (raw.length > 1) {
      violations.push({
        property: key,
        message: `${key} is given ${raw.length} times; give it once.`,
        reason: 'repeated_key',
      })
      continue
    } else value = coerce(raw[0]!, property)
    // Defined, not assigned: a key named `__proto__` stays a key like any other.
    Object.defineProperty(input, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  if (violations.length > 0) throw DarkroomError.validation(violations, 'Invalid query.')
  return input
}

const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/

function coerce(raw: string, schema: JsonSchema): unknown {
  const types = typesOf(schema)
  if (raw === '' && types.has('null')) return null
  if (types.has('boolean') && (raw === 'true' || raw === 'false')) return raw === 'true'
  if ((types.has('integer') || types.has('number')) && DECIMAL.test(raw)) return Number(raw)
  return raw
}
