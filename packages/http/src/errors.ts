import { isDarkroomError, type DarkroomErrorCode } from '@darkroom/core'
import type { Logger } from './logger.js'

/**
 * The one place an HTTP route or a tus hook turns an error into a status and a body. A
 * `DarkroomError` keeps its message, violations and cap; anything else is a 500 with a generic
 * message, logged once here with its cause (never a stack or SQL in the body).
 */

export const STATUS_BY_CODE: Record<DarkroomErrorCode, number> = {
  NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  VALIDATION: 422,
  CAP_EXCEEDED: 400,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
}

export interface ErrorBody {
  error: {
    /** A Darkroom code, or the HTTP layer's own (`BAD_REQUEST`, `SERVICE_UNAVAILABLE` ...). */
    code: string
    message: string
    violations?: { property: string; message: string; reason?: string }[]
    cap?: { name: string; limit: number; current?: number; requested?: number }
    /** For `RATE_LIMITED`: seconds until a retry may succeed (also in `Retry-After`). */
    retryAfterSec?: number
  }
}

export interface HttpError {
  status: number
  body: ErrorBody
  /** Headers the answer needs (`Retry-After` of a 429). */
  headers?: Record<string, string>
}

/** An error the HTTP layer itself raises (a bad query, a full queue): status and message. */
export class HttpProblem extends Error {
  override readonly name = 'HttpProblem'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

export function toHttpError(error: unknown, logger?: Logger): HttpError {
  if (isDarkroomError(error)) {
    const body: ErrorBody = { error: { code: error.code, message: error.message } }
    if (error.violations.length > 0) body.error.violations = error.violations
    if (error.cap) body.error.cap = error.cap
    if (error.retryAfterMs !== undefined) {
      const retryAfterSec = Math.max(1, Math.ceil(error.retryAfterMs / 1000))
      body.error.retryAfterSec = retryAfterSec
      return {
        status: STATUS_BY_CODE[error.code],
        body,
        headers: { 'Retry-After': String(retryAfterSec) },
      }
    }
    return { status: STATUS_BY_CODE[error.code], body }
  }
  if (error instanceof HttpProblem) {
    return { status: error.status, body: { error: { code: error.code, message: error.message } } }
  }
  logger?.error({ err: error }, 'request failed')
  return {
    status: 500,
    body: { error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error.' } },
  }
}

/** What a tus hook throws so that `@tus/server` answers with this status and JSON body. */
export function toTusError(error: unknown, logger?: Logger): { status_code: number; body: string } {
  const { status, body } = toHttpError(error, logger)
  return { status_code: status, body: JSON.stringify(body) }
}
