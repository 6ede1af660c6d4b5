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
 * zod schema (as `VALIDATION`, one violation per issue, and one per unknown key). `input` is
 * the call's raw input, which tells a missing key from one of the wrong type (zod keeps no
 * input in its issues). Anything else is returned unchanged.
 */
export function mapError(error: TRPCError, input?: unknown): TRPCError {
  const cause = error.cause
  if (isDarkroomError(cause)) return toTRPCError(cause)
  // Input parsing is the only BAD_REQUEST with schema issues; a failed *output* schema is an
  // INTERNAL_SERVER_ERROR and stays one.
  if (error.code === 'BAD_REQUEST') {
    const issues = schemaIssues(cause)
    if (issues) {
      return toTRPCError(
        DarkroomError.validation(schemaViolations(issues, input), 'Invalid input.'),
      )
    }
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

// ---------------------------------------------------------------- schema issues → violations

type PathSegment = PropertyKey | { key: PropertyKey }

/** A zod issue (or a Standard Schema one, which has only `message` and `path`). */
export interface SchemaIssue {
  message: string
  code?: string
  path?: ReadonlyArray<PathSegment>
  /** invalid_type: `string`, `number`, `int`, `object` ... */
  expected?: string
  /** unrecognized_keys */
  keys?: string[]
  /** invalid_value: the values allowed */
  values?: unknown[]
  /** too_big, too_small: what was measured (`string`, `array`, `number` ...) and the bound */
  origin?: string
  maximum?: number | bigint
  minimum?: number | bigint
  inclusive?: boolean
  /** invalid_format */
  format?: string
  /** not_multiple_of */
  divisor?: number | bigint
  /** invalid_union: each branch's issues */
  errors?: SchemaIssue[][]
}

/** The issues of a zod error or a Standard Schema failure, or null. */
function schemaIssues(error: unknown): SchemaIssue[] | null {
  const issues = (error as { issues?: unknown } | null)?.issues
  if (!Array.isArray(issues) || issues.length === 0) return null
  return issues.every((i) => typeof (i as SchemaIssue)?.message === 'string')
    ? (issues as SchemaIssue[])
    : null
}

const ALLOWED_PREFIX = 'Allowed: '

/**
 * The message a strict input object gives its `unrecognized_keys` issue (see `strictObject` in
 * schemas/common.ts): the keys it takes, which each unknown key's violation repeats.
 */
export function allowedKeysMessage(keys: readonly string[]): string {
  return `${ALLOWED_PREFIX}${keys.join(', ')}.`
}

/**
 * A schema's issues (zod's, or any Standard Schema's) as Darkroom violations, for every edge
 * that validates input (tRPC here, the REST twin and the seed profiles in `@darkroom/http`):
 * `input` is the raw input the schema was given.
 */
export function schemaViolations(issues: readonly SchemaIssue[], input: unknown): Violation[] {
  return issues.flatMap((issue) => toViolations(issue, input))
}

/**
 * One violation per problem, each naming its property: an unknown key is one violation per key
 * (`property` is the key's own path); a missing key is `<property> is required.`; zod's generic
 * messages are rewritten from the issue's code and bounds (`id: expected a string, received
 * number`); a schema's own message is kept when it names its property, else prefixed with it.
 */
function toViolations(issue: SchemaIssue, input: unknown): Violation[] {
  const path = (issue.path ?? []).map((s) => (typeof s === 'object' ? s.key : s))
  if (issue.code === 'unrecognized_keys' && issue.keys && issue.keys.length > 0) {
    const allowed = issue.message.startsWith(ALLOWED_PREFIX) ? ` ${issue.message}` : ''
    return issue.keys.map((key) => ({
      property: propertyOf([...path, key]),
      message: `Unknown key ${JSON.stringify(key)}.${allowed}`,
      reason: issue.code!,
    }))
  }
  const violation: Violation = {
    property: propertyOf(path),
    message: describeIssue(issue, path, input),
  }
  if (issue.code) violation.reason = issue.code
  return [violation]
}

/** zod's own English messages, which name no property: `Invalid input: expected string ...`. */
const GENERIC_MESSAGE = /^(Invalid|Too (big|small)|Unrecognized key)\b/

function describeIssue(issue: SchemaIssue, path: PropertyKey[], input: unknown): string {
  const name = propertyOf(path)
  const at = valueAt(input, path)
  if (issue.code === 'invalid_type' && at !== null && at.value === undefined) {
    return `${name} is required.`
  }
  if (!GENERIC_MESSAGE.test(issue.message)) {
    // The schema's own words: kept when they name the property (or are about the whole input).
    return path.length === 0 || namesProperty(issue.message, path)
      ? issue.message
      : `${name}: ${issue.message}`
  }
  switch (issue.code) {
    case 'invalid_type': {
      const received = at === null ? '' : `, received ${typeName(at.value)}`
      return `${name}: expected ${expectedType(issue.expected)}${received}`
    }
    case 'invalid_value':
      return `${name}: expected ${oneOf(issue.values ?? [])}`
    case 'too_big':
      return `${name}: ${bound('at most', 'less than', issue.maximum, issue)}`
    case 'too_small':
      return `${name}: ${bound('at least', 'more than', issue.minimum, issue)}`
    case 'invalid_format':
      return `${name}: expected a valid ${issue.format ?? 'value'}`
    case 'not_multiple_of':
      return `${name}: expected a multiple of ${String(issue.divisor)}`
    case 'invalid_union':
      return describeUnion(issue, path, input)
    default:
      return `${name}: invalid value`
  }
}

/**
 * A value no branch of a union takes. When some branch got past the type (a string too long
 * for an id), its first issue says the most; otherwise every branch's type is named.
 */
function describeUnion(issue: SchemaIssue, path: PropertyKey[], input: unknown): string {
  const branches = issue.errors ?? []
  const typeOnly = (i: SchemaIssue) => i.code === 'invalid_type' || i.code === 'invalid_value'
  const closer = branches.find((b) => b.length > 0 && !b.every(typeOnly))?.[0]
  if (closer) {
    const inner = (closer.path ?? []).map((s) => (typeof s === 'object' ? s.key : s))
    return describeIssue(closer, [...path, ...inner], input)
  }
  const expected = branches
    .flat()
    .filter((i) => (i.path ?? []).length === 0)
    .map((i) => (i.code === 'invalid_value' ? oneOf(i.values ?? []) : expectedType(i.expected)))
  const at = valueAt(input, path)
  const received = at === null ? '' : `, received ${typeName(at.value)}`
  return expected.length > 0
    ? `${propertyOf(path)}: expected ${expected.join(' or ')}${received}`
    : `${propertyOf(path)}: invalid value`
}

function bound(
  inclusiveWord: string,
  exclusiveWord: string,
  limit: number | bigint | undefined,
  issue: SchemaIssue,
): string {
  const word = issue.inclusive === false ? exclusiveWord : inclusiveWord
  const n = Number(limit)
  const unit: Record<string, [string, string]> = {
    string: ['character', 'characters'],
    array: ['item', 'items'],
    set: ['item', 'items'],
    file: ['byte', 'bytes'],
  }
  const [one, many] = unit[issue.origin ?? ''] ?? ['', '']
  return one ? `${word} ${String(limit)} ${n === 1 ? one : many}` : `${word} ${String(limit)}`
}

function expectedType(expected: string | undefined): string {
  switch (expected) {
    case undefined:
      return 'another type'
    case 'int':
      return 'a whole number'
    case 'null':
    case 'undefined':
      return expected
    case 'object':
    case 'array':
      return `an ${expected}`
    default:
      return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`
  }
}

function oneOf(values: readonly unknown[]): string {
  const listed = values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v)))
  return listed.length === 1 ? listed[0]! : `one of ${listed.join(', ')}`
}

/** The type of a received value as a client would call it. */
function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN'
  if (typeof Blob !== 'undefined' && value instanceof Blob) return 'file'
  return typeof value
}

/**
 * Whether a schema's own message already names the property: the last key's words, in order
 * (`photoCap` → "photo cap", `scopes` → "scope"), as the start of a word.
 */
function namesProperty(message: string, path: readonly PropertyKey[]): boolean {
  const key = [...path].reverse().find((s): s is string => typeof s === 'string')
  if (!key) return false
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_-]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  const last = words.length - 1
  if (words[last]!.length > 2) words[last] = words[last]!.replace(/s$/, '')
  return new RegExp(`\\b${words.join('[\\s_-]*')}`, 'i').test(message)
}

/**
 * The raw input's value at `path` (`{ value: undefined }` for a missing key), or null when the
 * input cannot be walked there. A FormData's entry is its first value of that name.
 */
function valueAt(input: unknown, path: readonly PropertyKey[]): { value: unknown } | null {
  let value = input
  for (const key of path) {
    if (isFormDataLike(value)) {
      const values = value.getAll(String(key))
      value = values.length > 1 ? values : values[0]
    } else if (Array.isArray(value) && typeof key === 'number') {
      value = value[key]
    } else if (value !== null && typeof value === 'object' && typeof key === 'string') {
      value = Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined
    } else {
      return null
    }
  }
  return { value }
}

function isFormDataLike(value: unknown): value is Pick<FormData, 'getAll'> {
  return typeof (value as FormData | null)?.getAll === 'function'
}

/** `['files', 3, 'name']` → `files[3].name`; the whole input → `input`. */
function propertyOf(path: ReadonlyArray<PropertyKey>): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out ? `.${String(key)}` : String(key)
  }
  return out || 'input'
}
