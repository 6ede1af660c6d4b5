import { open } from 'node:fs/promises'
import {
  DarkroomError,
  isDarkroomError,
  localFile,
  photoAnswerFor,
  requireScope,
  type Caller,
  type PhotoAnswer,
  type Violation,
} from '@darkroom/core'
import type { ReceivedFile, ReceivedForm } from '../../api/multipart.js'
import type { ProfileDeps } from '../profile.js'
import { fileTooLarge } from './errors.js'

/** What an upload may be: the profile's options, resolved against the engine's. */
export interface ImageRules {
  /** In the order a refusal lists them. */
  allowedMimeTypes: readonly string[]
  maxFileBytes: number
}

/** The bytes core identifies a type from (`precheck`: 4100 are enough). */
const HEAD_BYTES = 4100

/**
 * `POST|PUT /api/upload`, `/api/guest/upload`, `/api/external/upload`: the multipart form's one
 * file, in `image`, checked as the seed checks it before anything is stored (the size against
 * the profile's limit, in Symfony's words; then core's `precheck`: the type found in its bytes
 * against the profile's list, and the owner's quota), then stored by core's `upload`. Every
 * refusal is a 422 validation error, whatever the number of files. The same bytes sent again
 * answer the photo that already holds them (a guest's: a 422 that names no photo).
 */
export async function uploadImage(
  deps: ProfileDeps,
  request: Request,
  upload: { caller: Caller; rules: ImageRules; isPublic: boolean },
): Promise<PhotoAnswer> {
  const { caller, rules } = upload
  requireScope(caller, 'photos.write')
  const form = await receiveForm(deps, request, caller, rules)
  try {
    const file = theImage(form, rules)
    await deps.darkroom.photos.precheck(caller, {
      head: await readHead(file.path),
      size: file.size,
      allowedMimeTypes: rules.allowedMimeTypes,
    })
    const { uploaded, skipped } = await deps.darkroom.photos.upload(caller, {
      files: [{ filename: file.filename, data: localFile(file.path, file.size) }],
      isPublic: upload.isPublic,
    })
    if (uploaded[0]) return uploaded[0]
    // Core throws every other refusal of a lone file: what is left is a duplicate, the caller's
    // own photo with these very bytes, read as its owner (a write-only key may not hold
    // photos.read), and answered as any write answers the caller (`photoAnswerFor`: no photo
    // data to a caller without photos.read). A guest shares its owner with strangers: core names
    // it no photo, and its duplicate is a plain refusal.
    const existingId = skipped[0]?.existingId
    if (!existingId) {
      const message = skipped[0]?.message ?? 'The file was not stored.'
      throw DarkroomError.validation([{ property: 'image', message }])
    }
    const owner: Caller = { ownerId: caller.ownerId, scopes: ['photos.read'] }
    const existing = await deps.darkroom.photos.get(owner, { id: existingId })
    return photoAnswerFor(caller, existing)
  } finally {
    await form.dispose()
  }
}

/** The multipart body; a body past the multipart cap is a file too large, like any other. */
async function receiveForm(
  deps: ProfileDeps,
  request: Request,
  caller: Caller,
  rules: ImageRules,
): Promise<ReceivedForm> {
  try {
    return await deps.receiveForm(request, { fileFields: ['image'], caller })
  } catch (error) {
    if (isDarkroomError(error) && error.code === 'PAYLOAD_TOO_LARGE') {
      throw fileTooLarge(null, rules.maxFileBytes)
    }
    throw error
  }
}

/** The form's one file, within the size limit; no text fields (the seed has none). */
function theImage(form: ReceivedForm, rules: ImageRules): ReceivedFile {
  const violations: Violation[] = [...new Set(form.fields.map(([name]) => name))].map((name) => ({
    property: name,
    message: `Unknown field "${name}".`,
  }))
  const [file, ...more] = form.files
  if (!file) violations.push({ property: 'image', message: 'No file was uploaded.' })
  if (more.length > 0) {
    violations.push({
      property: 'image',
      message: `Send one file per upload (got ${form.files.length}).`,
    })
  }
  if (violations.length > 0 || !file) throw DarkroomError.validation(violations)
  if (file.truncated || file.size > rules.maxFileBytes) {
    throw fileTooLarge(file.size, rules.maxFileBytes)
  }
  return file
}

async function readHead(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r')
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(HEAD_BYTES), 0, HEAD_BYTES, 0)
    return buffer.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}
