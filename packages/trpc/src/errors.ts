import {
  DarkroomError,
  isDarkroomError,
  type CapInfo,
  type DarkroomErrorCode,
  type Violation,
} from '@darkroom/core'
import { TRPCError, type TRPC_ERROR_CODE_KEY, type TRPCDefaultErrorShape } from '@trpc/server'

/**
 * Core's error codes as tRPC codes (and so HTTP statuses), once. The table is exhaustive: a new
 * `DarkroomErrorCode` fails the type-check until it is mapped here.
 */
export const TRPC_ERROR_CODE_OF: Readonly<Record<DarkroomErrorCode, TRPC_ERROR_CODE_KEY>> = {
  NOT_FOUND: 'NOT_FOUND', // 404
  UNAUTHORIZED: 'UNAUTHORIZED', // 401
  FORBIDDEN: 'FORBIDDEN', // 403
  VALIDATION: 'UNPROCESSABLE_CONTENT', // 422
  CAP_EXCEEDED: 'BAD_REQUEST', // 400
  CONFLICT: 'CONFLICT', // 409
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE', // 413
  RATE_LIMITED: 'TOO_MANY_REQUESTS', // 429
}

/** What a Darkroom error adds to the tRPC error shape, under `data.darkroom`. */
export interface DarkroomErrorData {
  code: DarkroomErrorCode
  /** For `VALIDATION` (and a refused upload): one entry per problem. Empty otherwise. */
  violations: Violation[]
  /** For `CAP_EXCEEDED`: which cap and its value. */
  cap: CapInfo | null
}

/** The error shape every procedure of the router answers with. */
export interface DarkroomErrorShape {
  message: string
  code: TRPCDefaultErrorShape['code']
  data: {
    code: TRPC_ERROR_CODE_KEY
    httpStatus: number
    path?: string
    /** Set when the error came from Darkroom's rules (or input validation); null otherwise. */
    darkroom: DarkroomErrorData | null
  }
}

const INTERNAL_MESSAGE = 'Internal server error.'

/**
 * The error-mapping middleware's step: a failed call whose cause is a `DarkroomError` becomes a
 * `TRPCError` with the mapped code and core's message, and so does an input that failed its
 * zod schema (as `VALIDATION`, one violation per issue). Anything else is returned unchanged.
 */
export function mapError(error: TRPCError): TRPCError {
  const cause = error.cause
  if (isDarkroomError(cause)) return toTRPCError(cause)
  // Input parsing is the only BAD_REQUEST with schema issues; a failed *output* schema is an
  // INTERNAL_SERVER_ERROR and stays one.
  if (error.code === 'BAD_REQUEST') {
    const issues = schemaIssues(cause)
    if (issues)
      return toTRPCError(DarkroomError.validation(issues.flatMap(toViolations), 'Invalid input.'))
  }
  return error
}

export function toTRPCError(error: DarkroomError): TRPCError {
  return new TRPCError({
    code: TRPC_ERROR_CODE_OF[error.code],
    message: error.message,
    cause: error,
  })
}

/**
 * The `errorFormatter`: tRPC's shape, plus `data.darkroom`, minus anything internal. No stack,
 * ever (the server logs errors with their cause); an unexpected error says only that it
 * happened, so no SQL, path or vendor message reaches the client.
 */
export function formatError({
  shape,
  error,
}: {
  shape: TRPCDefaultErrorShape
  error: TRPCError
}): DarkroomErrorShape {
  const cause = error.cause
  const darkroom =
    isDarkroomError(cause) && TRPC_ERROR_CODE_OF[cause.code] === error.code
      ? {
          code: cause.code,
          violations: cause.violations.map((v) => ({ ...v })),
          cap: cause.cap ? { ...cause.cap } : null,
        }
      : null
  const data: DarkroomErrorShape['data'] = {
    code: shape.data.code,
    httpStatus: shape.data.httpStatus,
    darkroom,
  }
  if (shape.data.path !== undefined) data.path = shape.data.path
  return {
    message: error.code === 'INTERNAL_SERVER_ERROR' ? INTERNAL_MESSAGE : shape.message,
    code: shape.code,
    data,
  }
}

interface SchemaIssue {
  message: string
  code?: string
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>
  /** zod's `unrecognized_keys`: the keys a strict object refused. */
  keys?: readonly string[]
}

/** The issues of a zod error or a Standard Schema failure, or null. */
function schemaIssues(error: unknown): SchemaIssue[] | null {
  const issues = (error as { issues?: unknown } | null)?.issues
  if (!Array.isArray(issues) || issues.length === 0) return null
  return issues.every((i) => typeof (i as SchemaIssue)?.message === 'string')
    ? (issues as SchemaIssue[])
    : null
}

/** One violation per issue; a strict object's unknown keys give one each, naming the key. */
function toViolations(issue: SchemaIssue): Violation[] {
  const path = issue.path ?? []
  if (issue.code === 'unrecognized_keys' && Array.isArray(issue.keys) && issue.keys.length > 0) {
    return issue.keys.map((key) => ({
      property: propertyOf([...path, key]),
      message: `Unknown key "${key}".`,
      reason: 'unrecognized_keys',
    }))
  }
  const violation: Violation = { property: propertyOf(path), message: issue.message }
  if (issue.code) violation.reason = issue.code
  return [violation]
}

/** `['files', 3, 'name']` → `files[3].name`; the whole input → `input`. */
function propertyOf(path: ReadonlyArray<PropertyKey | { key: PropertyKey }>): string {
  let out = ''
  for (const segment of path) {
    const key = typeof segment === 'object' ? segment.key : segment
    if (typeof key === 'number') out += `[${key}]`
    else out += out ? `.${String(key)}` : String(key)
  }
  return out || 'input'
}
