import {
  DarkroomError,
  MAX_BULK_DELETE,
  MAX_PAGE_SIZE,
  type ListPhotosInput,
  type PhotoSort,
} from '@darkroom/core'
import { z } from 'zod'
import { parseInput } from '../../api/json-body.js'
import type { ReceivedForm } from '../../api/multipart.js'
import { megabytes } from './batch-upload.js'

/**
 * What the events API takes in, checked strictly at the edge: JSON bodies (whatever their
 * Content-Type, as `curl -d` labels JSON a form), query strings, form fields, path segments and
 * `Content-Length`. An unknown key, parameter or field, or one given twice, is a violation
 * naming it; nothing is silently dropped.
 */

/** `POST /v1/events/{id}/uploads`; `mime_type` is what the client says, the bytes decide. */
export const START_UPLOAD = z.strictObject({
  filename: z.string().min(1).max(255),
  size: z.number().int().positive(),
  mime_type: z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, 'mime_type is a type/subtype.'),
})

/** `PATCH /v1/photos/{id}` */
export const PATCH_PHOTO = z.strictObject({ is_hidden: z.boolean() })

/**
 * `POST /v1/photos/bulk-delete`. Numbers are taken as the document shows them (`[1234, 1235]`)
 * and looked up as ids like any other: Darkroom's ids are UUID strings, so they are `failed`.
 */
export const BULK_DELETE = z.strictObject({
  photo_ids: z
    .array(z.union([z.string().min(1), z.number().int()]))
    .min(1)
    .max(MAX_BULK_DELETE),
})

/** A body that must be empty (or `{}`). */
export const NO_BODY = z.strictObject({}).optional()

/** The seed's "single batch, < 100 MB total". */
export const MAX_BATCH_BYTES = 100 * 1024 * 1024

/** `url`'s query parsed by `schema` (a `z.strictObject` of strings); `VALIDATION` otherwise. */
export function readQuery<S extends z.ZodType>(url: URL, schema: S): z.output<S> {
  const query: Record<string, string> = {}
  const repeated: string[] = []
  for (const [name, value] of url.searchParams) {
    if (name in query) repeated.push(name)
    query[name] = value
  }
  if (repeated.length > 0) {
    throw DarkroomError.validation(
      [...new Set(repeated)].map((name) => ({
        property: name,
        message: `The query parameter "${name}" is given more than once.`,
      })),
    )
  }
  return parseInput(schema, query)
}

/** For the routes that take no query parameters. */
export const NO_QUERY = z.strictObject({})

const SORT_FIELDS = {
  upload_date: 'uploaded',
  capture_date: 'taken',
  filename: 'filename',
  size: 'size',
  rating: 'rating',
} as const satisfies Record<string, PhotoSort>

const SORTS = Object.keys(SORT_FIELDS).flatMap((field) => [`${field}_asc`, `${field}_desc`])

const wholeNumber = (name: string, min: number, max: number) => {
  const message = `${name} is a whole number from ${min}${Number.isFinite(max) ? ` to ${max}` : ''}.`
  return z
    .string()
    .regex(/^\d{1,9}$/, message)
    .transform(Number)
    .refine((n) => n >= min && n <= max, message)
}

/** `GET /v1/events/{id}/photos`: limit, offset, category_id, is_hidden, sort. */
export const LIST_QUERY = z.strictObject({
  limit: wholeNumber('limit', 1, MAX_PAGE_SIZE).default(50),
  offset: wholeNumber('offset', 0, Infinity).default(0),
  category_id: z.string().min(1, 'category_id must not be empty.').optional(),
  is_hidden: z
    .enum(['true', 'false'], 'is_hidden is true or false.')
    .transform((v) => v === 'true')
    .optional(),
  sort: z.enum(SORTS, `sort is one of ${SORTS.join(', ')}.`).default('upload_date_desc'),
})

/** The list query as the engine's list input, for the event `albumId`. */
export function toListInput(
  albumId: string,
  query: z.output<typeof LIST_QUERY>,
): ListPhotosInput & { limit: number; offset: number } {
  const [, field, order] = /^(.+)_(asc|desc)$/.exec(query.sort)!
  const input: ListPhotosInput & { limit: number; offset: number } = {
    albumId,
    sort: SORT_FIELDS[field as keyof typeof SORT_FIELDS],
    order: order as 'asc' | 'desc',
    limit: query.limit,
    offset: query.offset,
  }
  if (query.category_id !== undefined) input.category = query.category_id
  if (query.is_hidden !== undefined) input.hidden = query.is_hidden
  return input
}

/** The form's `category_id` (or null); any other text field is refused, named. */
export function categoryOf(form: ReceivedForm): string | null {
  const violations = []
  let category: string | null = null
  for (const [name, value] of form.fields) {
    if (name === 'category_id' && category === null && value !== '') category = value
    else if (name === 'category_id') {
      const message =
        value === '' ? 'category_id must not be empty.' : 'category_id is given more than once.'
      violations.push({ property: name, message })
    } else if (name === 'photos') {
      violations.push({ property: name, message: 'photos must be files (-F "photos=@path").' })
    } else violations.push({ property: name, message: `Unknown field "${name}".` })
  }
  if (violations.length > 0) throw DarkroomError.validation(violations)
  return category
}

/** A batch whose `Content-Length` says more than 100 MB is refused before it is read. */
export function refuseLargeBatch(request: Request): void {
  const declared = contentLength(request)
  if (declared !== null && declared > MAX_BATCH_BYTES) {
    void request.body?.cancel().catch(() => undefined)
    throw batchTooLarge(declared)
  }
}

/** A batch that turned out larger than 100 MB once read (sent without `Content-Length`). */
export function batchTooLarge(bytes: number): DarkroomError {
  return new DarkroomError(
    'PAYLOAD_TOO_LARGE',
    `The batch is ${megabytes(bytes)}; a single batch is under ${megabytes(MAX_BATCH_BYTES)}. ` +
      'Send larger files and batches with the chunked upload (POST /v1/events/{id}/uploads).',
  )
}

/** The declared `Content-Length`, or null when there is none. */
export function contentLength(request: Request): number | null {
  const header = request.headers.get('content-length')
  return header !== null && /^\d+$/.test(header) ? Number(header) : null
}

/** The `{i}` of `/v1/uploads/{id}/chunks/{i}`. */
export function chunkIndex(text: string): number {
  if (/^(0|[1-9]\d{0,8})$/.test(text)) return Number(text)
  throw DarkroomError.validation([
    { property: 'chunk', message: `The chunk index is a whole number from 0 (got "${text}").` },
  ])
}
