import { resolve } from 'node:path'
import {
  DarkroomError,
  isDarkroomError,
  localFile,
  type Caller,
  type Darkroom,
  type PhotoAnswer,
  type Violation,
} from '@darkroom/core'
import { typeRefusal, type AllowedTypes } from './file-types.js'
import {
  toSkippedItem,
  toUploadedItem,
  type SeedPhotoReceipt,
  type SkippedItem,
  type UploadedItem,
} from './seed-photo.js'

/**
 * Files already on disk (a multipart batch, or an assembled chunked upload) into an event, as
 * the seed answers: `{ uploaded, skipped }`. The profile refuses what the engine would accept but
 * the seed does not (a type outside `general_allowed_file_types`, decided from the bytes) and
 * what never fully arrived (a part over `maxFileBytes`, kept only in part); the engine does the
 * rest (duplicates, pixels, corrupt files, the event's `photo_cap` and the owner's quota, checked
 * for the whole batch before a byte is ingested: 400). As in the engine, a batch where every
 * file broke a rule is refused whole, one violation per file; a batch of duplicates is not.
 */

export interface IncomingFile {
  filename: string
  /** The bytes on disk; a relative path is taken from the working directory. */
  path: string
  /** Bytes the client sent. */
  size: number
  /** Over `maxFileBytes`: only its first bytes are on disk. */
  truncated: boolean
}

export interface BatchInput {
  eventId: string
  category: string | null
  files: readonly IncomingFile[]
  /** How a refusal names the file at `index`: `photos[2]`, or `file` for a single upload. */
  propertyOf(index: number): string
}

export interface BatchAnswer {
  uploaded: (UploadedItem | SeedPhotoReceipt)[]
  skipped: SkippedItem[]
}

/** A file left out, at its place in the batch. */
interface Skip {
  index: number
  filename: string
  reason: string
  message: string
  existingId?: string
}

/** Reasons that are the file's own fault; a batch made only of these is refused. */
const RULE_REASONS = new Set([
  'invalid_type',
  'too_large',
  'too_many_pixels',
  'corrupt',
  'unsupported_compression',
])

export async function uploadBatch(
  darkroom: Darkroom,
  caller: Caller,
  allowed: AllowedTypes,
  input: BatchInput,
): Promise<BatchAnswer> {
  const refused: Skip[] = []
  const accepted: { index: number; file: IncomingFile }[] = []
  for (const [index, file] of input.files.entries()) {
    const refusal = await refusalOf(file, darkroom.config.limits.maxFileBytes, allowed)
    if (refusal) refused.push({ index, filename: file.filename, ...refusal })
    else accepted.push({ index, file })
  }
  const ingested = accepted.length > 0 ? await ingest(darkroom, caller, input, accepted) : null
  const uploaded = ingested?.uploaded ?? []
  const skipped = [...refused, ...(ingested?.skipped ?? [])].sort((a, b) => a.index - b.index)
  if (
    uploaded.length === 0 &&
    skipped.length > 0 &&
    skipped.every((s) => RULE_REASONS.has(s.reason))
  ) {
    throw batchRefusal(skipped, input)
  }
  return { uploaded: uploaded.map(toUploadedItem), skipped: skipped.map(toSkippedItem) }
}

async function refusalOf(
  file: IncomingFile,
  maxFileBytes: number,
  allowed: AllowedTypes,
): Promise<{ reason: string; message: string } | null> {
  if (file.truncated) {
    const message = `The file is too large (${megabytes(file.size)}). Allowed maximum size is ${megabytes(maxFileBytes)}.`
    return { reason: 'too_large', message }
  }
  const message = await typeRefusal(file.path, allowed)
  return message ? { reason: 'invalid_type', message } : null
}

/** The accepted files through the engine, skips placed back at their index in the batch. */
async function ingest(
  darkroom: Darkroom,
  caller: Caller,
  input: BatchInput,
  accepted: readonly { index: number; file: IncomingFile }[],
): Promise<{ uploaded: PhotoAnswer[]; skipped: Skip[] }> {
  try {
    const result = await darkroom.photos.upload(caller, {
      files: accepted.map(({ file }) => ({
        filename: file.filename,
        data: localFile(resolve(file.path), file.size),
      })),
      albumId: input.eventId,
      ...(input.category !== null ? { category: input.category } : {}),
    })
    const skipped = result.skipped.map((s) => ({ ...s, index: accepted[s.index]!.index }))
    return { uploaded: result.uploaded, skipped }
  } catch (error) {
    const skipped = isDarkroomError(error) ? skipsOf(error, accepted) : null
    if (!skipped) throw error
    return { uploaded: [], skipped }
  }
}

/**
 * The engine refuses a batch where every file broke a rule with one violation per file, named
 * `file` (a batch of one) or `files[i]`; as skips at their place in the whole batch, so they
 * join the profile's own refusals. Null for any other error (a cap, a missing event ...).
 */
function skipsOf(
  error: DarkroomError,
  accepted: readonly { index: number; file: IncomingFile }[],
): Skip[] | null {
  if (error.code !== 'VALIDATION' && error.code !== 'PAYLOAD_TOO_LARGE') return null
  const skips: Skip[] = []
  for (const violation of error.violations) {
    const at = violation.property === 'file' ? 0 : /^files\[(\d+)\]$/.exec(violation.property)?.[1]
    const entry = at === undefined ? undefined : accepted[Number(at)]
    if (!entry || !violation.reason) return null
    const { index, file } = entry
    skips.push({
      index,
      filename: file.filename,
      reason: violation.reason,
      message: violation.message,
    })
  }
  return skips.length > 0 ? skips : null
}

/** Every file refused for a rule: 422 listing each, 413 for a lone file that is too large. */
function batchRefusal(skipped: readonly Skip[], input: BatchInput): DarkroomError {
  const violations: Violation[] = skipped.map((s) => ({
    property: input.propertyOf(s.index),
    message: s.message,
    reason: s.reason,
  }))
  const lone = input.files.length === 1 && skipped[0]?.reason === 'too_large'
  const detail = skipped.map((s) => `${s.filename}: ${s.message}`).join(' ')
  return new DarkroomError(
    lone ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION',
    `Nothing was uploaded. ${detail}`,
    {
      violations,
    },
  )
}

/** `4.31 MB` (1 MB = 1024², as the engine counts). */
export function megabytes(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 100) / 100} MB`
}
