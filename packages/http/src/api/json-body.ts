import { DarkroomError } from '@darkroom/core'
import { schemaViolations, type SchemaIssue } from '@darkroom/trpc'
import type { z } from 'zod'
import { HttpProblem } from '../errors.js'
import type { BodyBudget } from './body-budget.js'

/** JSON bodies of the REST routes are small: anything larger is refused before it is read. */
export const MAX_JSON_BYTES = 1024 * 1024

/**
 * The request's body as JSON, whatever its `Content-Type` says (`curl -d '{...}'` sends JSON
 * labelled `application/x-www-form-urlencoded`); undefined when there is none. Refused with 413
 * by `Content-Length` before a byte is read, or as soon as the body passes `maxBytes`; the bytes
 * read count against `budget` (the handler's bodies in flight).
 */
export async function readJson(
  request: Request,
  maxBytes = MAX_JSON_BYTES,
  budget?: BodyBudget,
): Promise<unknown> {
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
    try {
      budget?.count(request, size)
    } catch (error) {
      void reader.cancel().catch(() => undefined)
      throw error
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
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw DarkroomError.validation(
    schemaViolations(result.error.issues as readonly SchemaIssue[], value),
    'Invalid input.',
  )
}

function tooLarge(max: number): DarkroomError {
  return new DarkroomError(
    'PAYLOAD_TOO_LARGE',
    `The request body is over ${Math.round(max / 1024)} KiB.`,
  )
}
