import { isDarkroomError, type Caller, type DarkroomConfig } from '@darkroom/core'
import { z } from 'zod'
import type { ReceivedFile, ReceivedForm } from '../../api/multipart.js'
import { HttpProblem } from '../../errors.js'
import type { ProfileDeps } from '../profile.js'
import {
  AlbumsApiError,
  invalidValue,
  MESSAGES,
  missingValue,
  tooLarge,
  unknownFields,
  unknownParameters,
} from './errors.js'

/**
 * What the albums API accepts, read strictly: an unknown query parameter, JSON key or form field
 * is refused naming it (400), never dropped. Each refusal is an `AlbumsApiError` carrying the
 * document's message where it has one ("No se proporciono ID", "No se proporciono archivo").
 */

/** The most photos `GET /api/photos` returns at once, and the largest `limit`. */
const MAX_LIST = 1000

const MAX_DIMENSION = 1_000_000

const photoId = z
  .string({ error: (issue) => (issue.input == null ? MESSAGES.noId : MESSAGES.invalidId) })
  .min(1, MESSAGES.noId)

const invalidAlbumId = invalidValue('album_id', 'ID de album o null')
const albumId = z.string({ error: invalidAlbumId }).min(1, invalidAlbumId).nullish()

function dimension(name: string) {
  const rule = invalidValue(name, `entero de 1 a ${MAX_DIMENSION}`)
  return z
    .number({ error: (issue) => (issue.input === undefined ? missingValue(name) : rule) })
    .int(rule)
    .min(1, rule)
    .max(MAX_DIMENSION, rule)
}

/** A body that is not an object carries no id. */
const body = <S extends z.core.$ZodLooseShape>(shape: S) =>
  z.strictObject(shape, { error: MESSAGES.noId })

/** `DELETE /api/photos/delete` */
export const deleteBody = body({ id: photoId })
/** `PATCH /api/photos/move`: `album_id` null or omitted takes the photo out of any album. */
export const moveBody = body({ id: photoId, album_id: albumId })
/** `PATCH /api/photos/dimensions` */
export const dimensionsBody = body({
  id: photoId,
  width: dimension('width'),
  height: dimension('height'),
})

/**
 * The JSON body (whatever its Content-Type: `curl -d` labels it form-urlencoded) parsed by
 * `schema`. Unknown keys are refused first, all named; then the first problem in key order.
 */
export async function readBody<S extends z.ZodType>(
  deps: ProfileDeps,
  request: Request,
  schema: S,
): Promise<z.output<S>> {
  const value = await deps.readJson(request).catch((error: unknown) => {
    throw error instanceof HttpProblem && error.status === 400
      ? new AlbumsApiError(400, MESSAGES.invalidJson)
      : error
  })
  const result = schema.safeParse(value ?? {})
  if (result.success) return result.data
  const issues = result.error.issues
  const unknown = issues.flatMap((issue) => (issue.code === 'unrecognized_keys' ? issue.keys : []))
  throw new AlbumsApiError(400, unknown.length > 0 ? unknownFields(unknown) : issues[0]!.message)
}

/** Refuses every query parameter but `allowed`, naming them. */
export function assertQuery(url: URL, allowed: readonly string[] = []): void {
  const unknown = [...new Set(url.searchParams.keys())].filter((key) => !allowed.includes(key))
  if (unknown.length > 0) throw new AlbumsApiError(400, unknownParameters(unknown))
}

/** `GET /api/photos?limit=&offset=`: at most `MAX_LIST` photos (the default) from `offset`. */
export function readListQuery(url: URL): { limit: number; offset: number } {
  assertQuery(url, ['limit', 'offset'])
  const limit = wholeNumber(url, 'limit', 1, MAX_LIST) ?? MAX_LIST
  const offset = wholeNumber(url, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0
  return { limit, offset }
}

function wholeNumber(url: URL, name: string, min: number, max: number): number | undefined {
  const values = url.searchParams.getAll(name)
  if (values.length === 0) return undefined
  const value = Number(values[0])
  if (values.length > 1 || !/^\d+$/.test(values[0]!) || value < min || value > max) {
    const rule =
      max === Number.MAX_SAFE_INTEGER ? `entero desde ${min}` : `entero de ${min} a ${max}`
    throw new AlbumsApiError(400, invalidValue(name, rule))
  }
  return value
}

/** `POST /api/photos/upload`: the one image and the album it goes to (null: none). */
export interface UploadForm {
  file: ReceivedFile
  albumId: string | null
}

const FILE_FIELD = 'file'
const ALBUM_FIELD = 'album_id'

/**
 * Receives the multipart form (its file spooled to disk with the engine's limits), checks it,
 * hands it to `use` and removes the temporary file afterwards, whatever happened. A request
 * that is not multipart has no file: "No se proporciono archivo".
 */
export async function withUploadForm<T>(
  deps: ProfileDeps,
  request: Request,
  caller: Caller,
  use: (form: UploadForm) => Promise<T>,
): Promise<T> {
  if (!/^multipart\/form-data\s*;/i.test(request.headers.get('content-type') ?? '')) {
    void request.body?.cancel().catch(() => undefined)
    throw new AlbumsApiError(400, MESSAGES.noFile)
  }
  const form = await deps
    .receiveForm(request, { fileFields: [FILE_FIELD], caller })
    .catch((error: unknown) => {
      throw formRefusal(error)
    })
  try {
    return await use(checkUploadForm(form, deps.darkroom.config))
  } finally {
    await form.dispose()
  }
}

/**
 * The form's own faults: unknown fields, a repeated `album_id`, no file or more than one, a
 * file over `maxFileBytes` (refused before core reads a byte of it). A `file` sent as text, or
 * a file part with no name and no bytes (a browser form with nothing chosen), is no file.
 */
function checkUploadForm(form: ReceivedForm, config: DarkroomConfig): UploadForm {
  const names = form.fields.map(([name]) => name)
  const unknown = [...new Set(names)].filter((name) => name !== ALBUM_FIELD && name !== FILE_FIELD)
  if (unknown.length > 0) throw new AlbumsApiError(400, unknownFields(unknown))
  const albums = form.fields.filter(([name]) => name === ALBUM_FIELD)
  if (albums.length > 1) {
    throw new AlbumsApiError(400, invalidValue(ALBUM_FIELD, 'un solo ID de album'))
  }
  const files = form.files.filter((file) => file.filename !== '' || file.size > 0)
  const [file] = files
  if (!file) throw new AlbumsApiError(400, MESSAGES.noFile)
  if (files.length > 1) throw new AlbumsApiError(400, MESSAGES.oneFile)
  if (file.truncated) throw tooLarge(config)
  const album = albums[0]?.[1]
  return { file, albumId: album === undefined || album === '' || album === 'null' ? null : album }
}

/**
 * `receiveForm`'s refusals in the API's terms: a file in another field than `file` is an
 * unknown field, a second file past the batch limit is one file too many.
 */
function formRefusal(error: unknown): unknown {
  if (!isDarkroomError(error) || error.code !== 'VALIDATION') return error
  const property = error.violations[0]?.property ?? FILE_FIELD
  if (property === FILE_FIELD) return new AlbumsApiError(400, MESSAGES.oneFile)
  if (property === ALBUM_FIELD)
    return new AlbumsApiError(400, invalidValue(ALBUM_FIELD, 'demasiado largo'))
  return new AlbumsApiError(400, unknownFields([property]))
}
