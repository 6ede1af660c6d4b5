import { DarkroomError, isDarkroomError, type Violation } from '@darkroom/core'
import { HttpProblem, STATUS_BY_CODE } from '../../errors.js'
import { json } from '../../internal/responses.js'
import type { Logger } from '../../logger.js'

/**
 * The image host's errors are Symfony's `HttpException`s serialised:
 * `{ "error": { "title": "Symfony.Component.HttpKernel.Exception.<Class>", "message", "violations"? } }`.
 * A validation failure is always a 422 titled `HttpException` with the message
 * `Validation Error` and one `{ property, message }` per problem, as the seed documents it;
 * every other status carries the Symfony class of that status and the error's own message.
 * Core's `file` property is the seed's form field, `image`.
 */

export interface SeedViolation {
  property: string
  message: string
}

export interface SeedErrorBody {
  error: { title: string; message: string; violations?: SeedViolation[] }
}

const NAMESPACE = 'Symfony.Component.HttpKernel.Exception.'

/** Symfony's exception class per status; any other status is a plain `HttpException`. */
const CLASS_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'BadRequestHttpException',
  401: 'UnauthorizedHttpException',
  403: 'AccessDeniedHttpException',
  404: 'NotFoundHttpException',
  405: 'MethodNotAllowedHttpException',
  409: 'ConflictHttpException',
  415: 'UnsupportedMediaTypeHttpException',
  429: 'TooManyRequestsHttpException',
  503: 'ServiceUnavailableHttpException',
}

/** Core's property names that the seed calls otherwise. */
const SEED_PROPERTY: Readonly<Record<string, string>> = { file: 'image' }

/** The message of a 401 on the routes that take the app's sign-in (the seed's JWT). */
export const SIGN_IN_REQUIRED = 'Full authentication is required to access this resource.'

/**
 * `error` (a `DarkroomError`, an `HttpProblem`, anything else) as the seed's error answer.
 * Unknown errors are logged once and answered 500 without a word about their cause.
 */
export function seedErrorResponse(error: unknown, logger: Logger): Response {
  const { status, body } = toSeedError(error, logger)
  const headers: Record<string, string> =
    status === 401 ? { 'WWW-Authenticate': 'Bearer realm="images"' } : {}
  return json(status, body, headers)
}

function toSeedError(error: unknown, logger: Logger): { status: number; body: SeedErrorBody } {
  if (isDarkroomError(error)) {
    if (error.code === 'VALIDATION') return { status: 422, body: validationBody(error) }
    return failure(STATUS_BY_CODE[error.code], error.message)
  }
  if (error instanceof HttpProblem) return failure(error.status, error.message)
  logger.error({ err: error }, 'request failed')
  return failure(500, 'Internal Server Error')
}

function failure(status: number, message: string): { status: number; body: SeedErrorBody } {
  return { status, body: { error: { title: titleOf(status), message } } }
}

function validationBody(error: DarkroomError): SeedErrorBody {
  const violations: Violation[] =
    error.violations.length > 0 ? error.violations : [{ property: 'input', message: error.message }]
  return {
    error: {
      title: titleOf(422),
      message: 'Validation Error',
      violations: violations.map((v) => ({
        property: SEED_PROPERTY[v.property] ?? v.property,
        message: v.message,
      })),
    },
  }
}

function titleOf(status: number): string {
  return NAMESPACE + (CLASS_BY_STATUS[status] ?? 'HttpException')
}

/**
 * Symfony's File constraint messages about size, in its decimal units (1 MB = 10^6 bytes): the
 * limit is written in MB when it fits in two decimals, else in kB, else in bytes, and the size
 * in the same unit rounded to two decimals (`The file is too large (2.14 MB). Allowed maximum
 * size is 1 MB.`). `size` null: the size is unknown (the body was cut off).
 */
export function fileTooLarge(size: number | null, maxBytes: number): DarkroomError {
  const factor = unitFactor(size, maxBytes)
  const unit = UNIT_BY_FACTOR[factor]!
  const allowed = `Allowed maximum size is ${String(maxBytes / factor)} ${unit}.`
  const message =
    size === null
      ? `The file is too large. ${allowed}`
      : `The file is too large (${roundedIn(size, factor)} ${unit}). ${allowed}`
  return DarkroomError.validation([{ property: 'image', message, reason: 'too_large' }])
}

const UNIT_BY_FACTOR: Readonly<Record<number, string>> = { 1_000_000: 'MB', 1000: 'kB', 1: 'bytes' }

/**
 * The unit of Symfony's `FileValidator::factorizeSizes` (decimal): the largest in which the
 * limit has at most two decimals, and in which the size, rounded, does not read as the limit.
 */
function unitFactor(size: number | null, limit: number): number {
  let factor = 1_000_000
  while (factor > 1 && decimalsOf(String(limit / factor)) > 2) factor /= 1000
  while (factor > 1 && size !== null && roundedIn(size, factor) === String(limit / factor)) {
    factor /= 1000
  }
  return factor
}

function roundedIn(bytes: number, factor: number): string {
  return String(Math.round((bytes / factor) * 100) / 100)
}

function decimalsOf(text: string): number {
  const dot = text.indexOf('.')
  return dot === -1 ? 0 : text.length - dot - 1
}
