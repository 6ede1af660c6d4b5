import {
  DarkroomError,
  isDarkroomError,
  isPhotoReceipt,
  localFile,
  MAX_PAGE_SIZE,
  type Caller,
  type Photo,
  type PhotoAnswer,
  type UploadResult,
} from '@darkroom/core'
import { z } from 'zod'
import { parseInput } from '../api/json-body.js'
import type { ReceivedFile, ReceivedForm } from '../api/multipart.js'
import { HttpProblem, STATUS_BY_CODE } from '../errors.js'
import type { Logger } from '../logger.js'
import { empty, json, type HeaderMap } from '../internal/responses.js'
import type { Profile, ProfileDeps, ProfileRequest } from './profile.js'

/**
 * Seed 000: a social network's photos API (diaspora's `/api/v1/photos`) on Darkroom's services.
 *
 * - A `guid` is the photo's UUIDv7 as 32 hex digits (the document's form); both that and the
 *   dashed UUID are accepted, and anything else is the documented 404, never a 422.
 * - `post` is the photo's `postId`. `pending=true` photos are stored but not listed (core keeps
 *   them out of lists); they are what a post attaches later, and they stay readable by guid.
 * - `sizes` are Darkroom's variant URLs made absolute against the request's origin (or kept as
 *   they are when the engine's `publicBaseUrl` is absolute).
 * - The list is newest first, up to 200 photos in one answer; `page` and `per_page` page it and
 *   `Link: <...>; rel="next"` names the next page, as the diaspora API's other lists do.
 * - Errors are diaspora's `{ "code": <status>, "message": <reason> }` with the documented reasons;
 *   an upload refused for any cause is 422 "Failed to create the photo" with a `detail`.
 * - `GET /api/v1/user` (beyond the photos document) returns the caller's `avatar`: the sizes of
 *   the photo `set_profile_picture` chose, as diaspora's user endpoint does.
 */

const NOT_FOUND_REASON = 'Photo with provided guid could not be found'
const CREATE_FAILED_REASON = 'Failed to create the photo'
/** The document leaves the file field unnamed: diaspora's API reads `image`; `file` is common. */
const FILE_FIELDS = ['image', 'file'] as const

/** A photo as the document shows it. */
interface SeedPhoto {
  guid: string
  post: string | null
  created_at: string
  dimensions: { height: number | null; width: number | null }
  sizes: { large: string; medium: string; small: string }
}

/** A photo to a caller without `photos.read` (a write-only key): its guid, no photo data. */
interface SeedPhotoReceipt {
  guid: string
}

export const socialProfile: Profile = {
  name: 'social',
  title: "A social network's photos API (diaspora's /api/v1/photos)",
  routes: (deps) => [
    { method: 'GET', path: '/api/v1/photos', handle: (r) => listPhotos(deps, r) },
    { method: 'POST', path: '/api/v1/photos', handle: (r) => uploadPhoto(deps, r) },
    { method: 'GET', path: '/api/v1/photos/:photo_guid', handle: (r) => getPhoto(deps, r) },
    { method: 'DELETE', path: '/api/v1/photos/:photo_guid', handle: (r) => deletePhoto(deps, r) },
    { method: 'GET', path: '/api/v1/user', handle: (r) => getUser(deps, r) },
  ],
  errorResponse: (error, deps) => socialErrorResponse(error, deps.logger),
}

// --- Routes -----------------------------------------------------------------------------------

const wholeNumber = z
  .string()
  .regex(/^[1-9][0-9]{0,8}$/, 'expected a whole number from 1')
  .transform(Number)

const listQuery = z.strictObject({
  page: wholeNumber.default(1),
  per_page: wholeNumber
    .pipe(z.number().max(MAX_PAGE_SIZE, `at most ${MAX_PAGE_SIZE}`))
    .default(MAX_PAGE_SIZE),
})
const noQuery = z.strictObject({})

async function listPhotos(deps: ProfileDeps, { url, requireCaller }: ProfileRequest) {
  const caller = await requireCaller()
  const { page, per_page: perPage } = parseInput(listQuery, singleValues(url.searchParams))
  const { items, total } = await deps.darkroom.photos.list(caller, {
    sort: 'uploaded',
    order: 'desc',
    limit: perPage,
    offset: (page - 1) * perPage,
  })
  const body = items.map((photo) => toSeedPhoto(photo, url))
  return json(200, body, pageLinks(url, { page, perPage, total }))
}

async function getPhoto(deps: ProfileDeps, { url, params, requireCaller }: ProfileRequest) {
  const caller = await requireCaller()
  parseInput(noQuery, singleValues(url.searchParams))
  const photo = await deps.darkroom.photos.get(caller, { id: photoIdOf(params.photo_guid!) })
  if (photo.ownerId !== caller.ownerId || photo.deletedAt !== null) throw notFound()
  return json(200, toSeedPhoto(photo, url))
}

/** For good: the document's API has no trash to restore from (diaspora retracts the photo). */
async function deletePhoto(deps: ProfileDeps, { url, params, requireCaller }: ProfileRequest) {
  const caller = await requireCaller()
  parseInput(noQuery, singleValues(url.searchParams))
  await deps.darkroom.photos.delete(caller, { id: photoIdOf(params.photo_guid!), hard: true })
  return empty(204)
}

const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')
const uploadParams = z.strictObject({
  pending: flag.default(false),
  set_profile_picture: flag.default(false),
})

async function uploadPhoto(deps: ProfileDeps, { request, url, requireCaller }: ProfileRequest) {
  const caller = await requireCaller()
  let form: ReceivedForm | undefined
  try {
    form = await deps.receiveForm(request, { fileFields: FILE_FIELDS, caller })
    const { file, pending, setProfilePicture } = uploadOf(form, url, deps)
    const result = await deps.darkroom.photos.upload(caller, {
      files: [{ filename: file.filename, data: localFile(file.path, file.size) }],
      pending,
      setProfilePicture,
    })
    const stored = storedPhoto(result)
    return json(200, isPhotoReceipt(stored) ? toSeedReceipt(stored) : toSeedPhoto(stored, url))
  } catch (error) {
    throw asCreateFailure(error)
  } finally {
    await form?.dispose()
  }
}

/** The upload a form asks for: its one file and the optional parameters, strictly read. */
function uploadOf(form: ReceivedForm, url: URL, deps: ProfileDeps) {
  // Rails reads the optional parameters from the query string or the form alike.
  const entries = [...url.searchParams, ...form.fields]
  const options = parseInput(uploadParams, singleValues(entries))
  const file = onlyFile(form.files, deps.darkroom.config.limits.maxFileBytes)
  if (options.pending && options.set_profile_picture) {
    throw new SocialError(
      422,
      CREATE_FAILED_REASON,
      'A pending photo cannot become the profile picture: pending photos are removed unless a ' +
        'post attaches them. Send set_profile_picture without pending.',
    )
  }
  return { file, pending: options.pending, setProfilePicture: options.set_profile_picture }
}

/** The stored photo of a one-file upload; core skips a file without an error only as a duplicate. */
function storedPhoto({ uploaded, skipped }: UploadResult): PhotoAnswer {
  const photo = uploaded[0]
  if (photo) return photo
  const existing = skipped[0]?.existingId
  throw new SocialError(
    422,
    CREATE_FAILED_REASON,
    existing
      ? `The same file is already stored as photo ${guidOf(existing)}.`
      : skipped[0]?.message,
  )
}

/** The one photo of an upload, refused without ingesting when it passed `maxFileBytes`. */
function onlyFile(files: readonly ReceivedFile[], maxFileBytes: number): ReceivedFile {
  const [file, ...more] = files
  if (!file || more.length > 0) {
    throw DarkroomError.validation([
      {
        property: FILE_FIELDS[0],
        message: `Send one photo as a multipart file in the field "image" (or "file"); got ${files.length}.`,
      },
    ])
  }
  if (file.truncated) {
    throw new DarkroomError(
      'PAYLOAD_TOO_LARGE',
      `The file is too large (${file.size} bytes). Allowed maximum size is ${maxFileBytes} bytes.`,
    )
  }
  return file
}

/** Beyond the photos document: diaspora's own user, reduced to what Darkroom knows. */
async function getUser(deps: ProfileDeps, { url, requireCaller }: ProfileRequest) {
  const caller = await requireCaller()
  parseInput(noQuery, singleValues(url.searchParams))
  const avatar = await avatarOf(deps, caller, url)
  // diaspora leaves `avatar` out when the user has none.
  return json(200, { guid: caller.ownerId, ...(avatar ? { avatar } : {}) })
}

async function avatarOf(deps: ProfileDeps, caller: Caller, url: URL) {
  const { profilePhotoId } = await deps.darkroom.owners.me(caller)
  if (!profilePhotoId) return null
  const [photo] = await deps.darkroom.photos.getMany(caller, { ids: [profilePhotoId] })
  return photo && photo.deletedAt === null ? sizesOf(photo, url) : null
}

// --- Translation ------------------------------------------------------------------------------

/** A Darkroom photo in the document's shape, its URLs absolute for the request `url`. */
function toSeedPhoto(photo: Photo, url: URL): SeedPhoto {
  return {
    guid: guidOf(photo.id),
    post: photo.postId,
    created_at: photo.createdAt,
    dimensions: { height: photo.height, width: photo.width },
    sizes: sizesOf(photo, url),
  }
}

function toSeedReceipt(receipt: { id: string }): SeedPhotoReceipt {
  return { guid: guidOf(receipt.id) }
}

/** Each size's own variant, else the original (a variant preset configured away). */
function sizesOf(photo: Photo, url: URL): SeedPhoto['sizes'] {
  const { variants } = photo
  const absolute = (path: string | null | undefined) =>
    new URL(path ?? variants.original, url.origin).href
  return {
    large: absolute(variants.large),
    medium: absolute(variants.medium),
    small: absolute(variants.small),
  }
}

/** A photo id (UUID) as the document's guid: its 32 hex digits. */
function guidOf(id: string): string {
  return id.replaceAll('-', '')
}

const GUID = /^[0-9a-f]{32}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** The photo id of a guid (32 hex digits or a dashed UUID); the documented 404 otherwise. */
function photoIdOf(guid: string): string {
  const lower = guid.toLowerCase()
  if (UUID.test(lower)) return lower
  if (!GUID.test(lower)) throw notFound()
  const part = (from: number, to?: number) => lower.slice(from, to)
  return `${part(0, 8)}-${part(8, 12)}-${part(12, 16)}-${part(16, 20)}-${part(20)}`
}

/** Name → value of query or form entries; a name given twice is refused, naming it. */
function singleValues(entries: Iterable<[string, string]>): Record<string, string> {
  const out: Record<string, string> = {}
  const repeated = new Set<string>()
  for (const [name, value] of entries) {
    if (Object.hasOwn(out, name)) repeated.add(name)
    out[name] = value
  }
  if (repeated.size > 0) {
    throw DarkroomError.validation(
      [...repeated].map((name) => ({
        property: name,
        message: `"${name}" is given more than once.`,
      })),
    )
  }
  return out
}

/** diaspora's `Link` header: the next page while there are more, the previous after the first. */
function pageLinks(url: URL, page: { page: number; perPage: number; total: number }): HeaderMap {
  const to = (n: number) => {
    const target = new URL(url.pathname, url.origin)
    target.searchParams.set('page', String(n))
    target.searchParams.set('per_page', String(page.perPage))
    return `<${target.href}>`
  }
  const links: string[] = []
  if (page.page * page.perPage < page.total) links.push(`${to(page.page + 1)}; rel="next"`)
  if (page.page > 1) links.push(`${to(page.page - 1)}; rel="previous"`)
  return links.length > 0 ? { Link: links.join(', ') } : {}
}

// --- Errors -----------------------------------------------------------------------------------

/** An answer in the document's terms: a status, its documented reason, and what caused it. */
class SocialError extends Error {
  override readonly name = 'SocialError'
  constructor(
    readonly status: number,
    message: string,
    readonly detail?: string,
  ) {
    super(message)
  }
}

function notFound(): SocialError {
  return new SocialError(404, NOT_FOUND_REASON)
}

const REFUSED_UPLOAD_CODES = new Set(['VALIDATION', 'CAP_EXCEEDED', 'PAYLOAD_TOO_LARGE'])
/** What the multipart reader answers for a body it cannot take (malformed, too large, not a form). */
const REFUSED_UPLOAD_STATUSES = new Set([400, 413, 415])

/** An upload refused for any cause (type, size, damage, a cap, the form) is the documented 422. */
function asCreateFailure(error: unknown): unknown {
  const refused =
    (isDarkroomError(error) && REFUSED_UPLOAD_CODES.has(error.code)) ||
    (error instanceof HttpProblem && REFUSED_UPLOAD_STATUSES.has(error.status))
  return refused ? new SocialError(422, CREATE_FAILED_REASON, (error as Error).message) : error
}

/**
 * Every error as diaspora's `{ code, message }` (plus `detail` when a documented reason has a
 * cause worth naming). A missing photo, or one that is not the caller's, is the documented 404;
 * unknown errors are a 500 that says nothing more, logged here.
 */
function socialErrorResponse(error: unknown, logger: Logger): Response {
  if (error instanceof SocialError) {
    const detail = error.detail === undefined ? {} : { detail: error.detail }
    return json(error.status, { code: error.status, message: error.message, ...detail })
  }
  if (isDarkroomError(error)) {
    if (error.code === 'NOT_FOUND') return json(404, { code: 404, message: NOT_FOUND_REASON })
    const status = STATUS_BY_CODE[error.code]
    return json(status, { code: status, message: error.message }, errorHeaders(error))
  }
  if (error instanceof HttpProblem) {
    return json(error.status, { code: error.status, message: error.message })
  }
  logger.error({ err: error }, 'request failed')
  return json(500, { code: 500, message: 'Internal server error' })
}

function errorHeaders(error: DarkroomError): HeaderMap {
  if (error.code === 'UNAUTHORIZED') return { 'WWW-Authenticate': 'Bearer' }
  if (error.retryAfterMs === undefined) return {}
  return { 'Retry-After': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) }
}
