import { DarkroomError, type Violation } from '@darkroom/core'
import type { z } from 'zod'
import { HttpProblem } from '../errors.js'

/** JSON bodies of the REST routes are small: anything larger is refused before it is read. */
export const MAX_JSON_BYTES = 1024 * 1024

/**
 * The request's body as JSON, whatever its `Content-Type` says (`curl -d '{...}'` sends JSON
 * labelled `application/x-www-form-urlencoded`); undefined when there is none. Refused with 413
 * by `Content-Length` before a byte is read, or as soon as the body passes `maxBytes`.
 */
export async function readJson(request: Request, maxBytes = MAX_JSON_BYTES): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? NaN)
  if (Number.isFinite(declared) && declared > maxBytes) {
    void request.body?.cancel().catch(() => undefined)
    throw tooLarge(maxBytes)
  }
  if (!request.body) return undefined
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      void reader.cancel().catch(() => undefined)
      throw tooLarge(maxBytes)
    }
    chunks.push(value)
  }
  const text = Buffer.concat(chunks).toString('utf8').trim()
  if (text === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new HttpProblem(400, 'BAD_REQUEST', 'The request body is not valid JSON.')
  }
}

/**
 * `value` parsed by `schema` (make it strict: unknown keys are refused), or a `VALIDATION`
 * error with one violation per problem, each naming its property.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  // With the input in each issue, a value of the wrong type is told from a missing one.
  const result = schema.safeParse(value, { reportInput: true })
  if (result.success) return result.data
  throw DarkroomError.validation(violationsOf(result.error.issues), 'Invalid input.')
}

/** zod issues as violations: an unknown key is one violation naming that key. */
export function violationsOf(issues: readonly z.core.$ZodIssue[]): Violation[] {
  const out: Violation[] = []
  for (const issue of issues) {
    const base = pathOf(issue.path)
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const property = base ? `${base}.${key}` : key
        out.push({ property, message: `Unknown key "${key}".`, reason: issue.code })
      }
      continue
    }
    const property = base || 'input'
    const message =
      issue.code === 'invalid_type' && issue.input === undefined
        ? `${property} is required.`
        : issue.message.includes(property)
          ? issue.message
          : `${property}: ${issue.message}`
    out.push({ property, message, reason: issue.code })
  }
  return out
}

function pathOf(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out ? `.${String(key)}` : String(key)
  }
  return out
}

function tooLarge(max: number): DarkroomError {
  return new DarkroomError(
    'PAYLOAD_TOO_LARGE',
    `The request body is over ${Math.round(max / 1024)} KiB.`,
  )
}
