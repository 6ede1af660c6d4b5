import type { SkipReason, UploadResult } from '@darkroom/core'
import { z } from 'zod'
import { formBooleanSchema, idSchema, strictObject, type Mirrors } from './common.js'
import { photoReceiptSchema, photoSchema } from './photo.js'

/**
 * `photos.upload` takes `multipart/form-data` (tRPC's FormData input; the client sends it with
 * `httpLink`, not batched): one or more `files` entries (also named `file`, `image` or `photos`)
 * and the optional fields below, as form strings. An empty `albumId`, `category` or `postId`
 * means none. Any other field name is refused (422), never ignored: a misspelt `album_id` would
 * otherwise put the photos outside the album.
 */

/** A `File` from the form: anything Blob-like with a name whose bytes can be streamed. */
export interface UploadedFormFile {
  name: string
  size: number
  type: string
  stream(): ReadableStream<Uint8Array>
  /**
   * Set when the edge already spooled the file to disk as the body arrived (`@darkroom/http`):
   * its bytes are in this file (`size` is what the client sent), and core reads it from there.
   */
  path?: string
}

const isFormData = (value: unknown): value is FormData =>
  value instanceof FormData ||
  (typeof (value as FormData | null)?.getAll === 'function' &&
    typeof (value as FormData | null)?.get === 'function')

const fileSchema = z.custom<UploadedFormFile>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as UploadedFormFile).name === 'string' &&
    typeof (value as UploadedFormFile).stream === 'function',
  { error: 'Each "files" entry is a file (a multipart part with a filename).' },
)

const optionalId = z
  .string()
  .transform((v) => v.trim())
  .pipe(z.union([z.literal('').transform(() => null), idSchema]))
  .optional()

const optionalText = (max: number) =>
  z
    .string()
    .max(max)
    .transform((v) => (v.trim() === '' ? null : v.trim()))
    .optional()

/**
 * The multipart path holds a whole request body at once; big files (video) go through tus,
 * which is resumable and streams to disk. The rule is the issue's, not a config value.
 */
export const MAX_FORM_FILE_BYTES = 100 * 1024 * 1024

export const FORM_FILE_TOO_LARGE_MESSAGE =
  'Files over 100 MB must be uploaded with tus (/files), which is resumable.'

/** The names a file may be sent under; all of them become `files`. */
/** The form fields that carry files: `files`, and the names the seed APIs use. */
export const FILE_FIELDS = ['files', 'file', 'image', 'photos'] as const

const FIELDS = [
  'albumId',
  'category',
  'description',
  'isPublic',
  'pending',
  'setProfilePicture',
  'postId',
] as const

const uploadFieldsSchema = strictObject(
  {
    files: z
      .array(fileSchema)
      .min(1, { error: 'At least one file is required.' })
      .superRefine((files, ctx) => {
        const big = files.filter((file) => file.size > MAX_FORM_FILE_BYTES)
        if (big.length > 0) {
          const names = big.map((file) => JSON.stringify(file.name)).join(', ')
          ctx.addIssue({
            code: 'custom',
            message: `${FORM_FILE_TOO_LARGE_MESSAGE} Too large: ${names}.`,
          })
        }
      }),
    albumId: optionalId,
    category: optionalText(200),
    description: z.string().max(10_000).optional(),
    isPublic: formBooleanSchema.optional(),
    pending: formBooleanSchema.optional(),
    setProfilePicture: formBooleanSchema.optional(),
    postId: optionalText(200),
  },
  [...FILE_FIELDS, ...FIELDS],
)

const isFileField = (name: string) => (FILE_FIELDS as readonly string[]).includes(name)

/**
 * The FormData's entries as the fields schema reads them: every file field into `files` (in the
 * form's order), each other name as it is (its first value), so the strict schema refuses the
 * names it does not take.
 */
function formFields(form: FormData): Record<string, unknown> {
  const files: unknown[] = []
  const out: Record<string, unknown> = { files }
  for (const [name, value] of form.entries()) {
    if (isFileField(name)) files.push(value)
    else if (!Object.hasOwn(out, name)) {
      // Defined, not assigned: a field named `__proto__` is a key like any other.
      Object.defineProperty(out, name, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
  }
  return out
}

export const uploadFormInput = z
  .custom<FormData>(isFormData, { error: 'The upload is sent as multipart/form-data.' })
  .transform(formFields)
  .pipe(uploadFieldsSchema)

// Kept in step with core's `SkipReason` by the `Mirrors` check below.
const SKIP_REASONS = [
  'duplicate',
  'invalid_type',
  'too_large',
  'too_many_pixels',
  'corrupt',
  'unsupported_compression',
  'cap_exceeded',
  'quota_exceeded',
  'error',
] as const satisfies readonly SkipReason[]

export const uploadResultSchema = z.object({
  /** The stored photos; receipts (no photo data) for a caller without `photos.read`. */
  uploaded: z.array(
    z.union([
      photoSchema.extend({ index: z.number(), restored: z.boolean() }),
      photoReceiptSchema.extend({ index: z.number(), restored: z.boolean() }),
    ]),
  ),
  skipped: z.array(
    z.object({
      index: z.number(),
      filename: z.string(),
      reason: z.enum(SKIP_REASONS),
      message: z.string(),
      existingId: z.string().optional(),
    }),
  ),
})

const mirrors: Mirrors<z.output<typeof uploadResultSchema>, UploadResult> = true
void mirrors

// ---------------------------------------------------------------- uploads.status

export const uploadStatusInput = strictObject({ id: idSchema })

export const uploadStatusSchema = z.object({
  id: z.string(),
  state: z.enum(['receiving', 'processing', 'ready', 'failed']),
  filename: z.string(),
  size: z.number().nullable(),
  albumId: z.string().nullable(),
  /** Set when `ready`. */
  photoId: z.string().nullable(),
  /** The violation when `failed`. */
  error: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
})

/**
 * `uploads.status` to a caller without `photos.read` (a write-only key): the same without the
 * filename, which becomes the photo's (an upload is its owner's, whichever key made it).
 */
export const uploadStatusReceiptSchema = uploadStatusSchema
  .omit({ filename: true })
  .extend({ withheld: z.literal(true) })
  .describe('uploads.status to a caller without photos.read: no filename (photo data).')

export const uploadStatusAnswerSchema = z.union([uploadStatusSchema, uploadStatusReceiptSchema])
