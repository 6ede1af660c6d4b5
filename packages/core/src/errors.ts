/**
 * The one error type core throws. The edge (tRPC, HTTP, tus) maps `code` to a status once;
 * core never knows about statuses.
 */
export const ERROR_CODES = [
  'NOT_FOUND',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'VALIDATION',
  'CAP_EXCEEDED',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
] as const

export type DarkroomErrorCode = (typeof ERROR_CODES)[number]

export interface Violation {
  /** The input the message is about: `file`, `files[3]`, `albumId`, `limit` ... */
  property: string
  message: string
  /** Machine-readable reason, e.g. `invalid_type`, `too_large`, `too_many_pixels`, `corrupt`. */
  reason?: string
}

/** Which cap a `CAP_EXCEEDED` error is about, and its value. */
export interface CapInfo {
  name: 'photoCap' | 'quotaBytes' | 'maxFilesPerBatch' | 'webhooksPerOwner' | 'unfinishedUploads'
  limit: number
  current?: number
  requested?: number
}

export interface DarkroomErrorOptions {
  cause?: unknown
  violations?: Violation[]
  cap?: CapInfo
  /** For `RATE_LIMITED`: how long until the caller may try again. */
  retryAfterMs?: number
}

export class DarkroomError extends Error {
  override readonly name = 'DarkroomError'
  readonly code: DarkroomErrorCode
  readonly violations: Violation[]
  readonly cap: CapInfo | undefined
  readonly retryAfterMs: number | undefined

  constructor(code: DarkroomErrorCode, message: string, options: DarkroomErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.violations = options.violations ?? []
    this.cap = options.cap
    this.retryAfterMs = options.retryAfterMs
  }

  static notFound(what: string, id: string): DarkroomError {
    return new DarkroomError('NOT_FOUND', `${what} ${JSON.stringify(id)} was not found.`)
  }

  static validation(violations: Violation[], message = 'Validation failed.'): DarkroomError {
    const detail = violations.map((v) => v.message).join(' ')
    return new DarkroomError('VALIDATION', detail ? `${message} ${detail}` : message, {
      violations,
    })
  }
}

export function isDarkroomError(value: unknown): value is DarkroomError {
  return value instanceof DarkroomError
}
