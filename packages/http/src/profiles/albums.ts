import { localFile, MAX_PAGE_SIZE, type Caller, type Darkroom, type Photo } from '@darkroom/core'
import { json } from '../internal/responses.js'
import { albumsErrorResponse, failingAs, fileRefusal, MESSAGES } from './albums/errors.js'
import {
  assertQuery,
  deleteBody,
  dimensionsBody,
  moveBody,
  readBody,
  readListQuery,
  withUploadForm,
} from './albums/input.js'
import { toSeedPhoto } from './albums/photo.js'
import type { Profile, ProfileDeps, ProfileRequest } from './profile.js'

/**
 * Seed 004, a personal albums app: `/api/photos` and its `upload`, `delete`, `move` and
 * `dimensions` actions, served on Darkroom's services for the app's signed-in user (its session
 * cookie, through the handler's `authenticate` hook). Photos answer as `toSeedPhoto` shapes
 * them, errors as `{ "error": "..." }` (albums/errors.ts); inputs are read strictly
 * (albums/input.ts). Delete is hard, as the document says: the row, the original and every
 * variant. Each route answers its own 500 message for an unexpected failure.
 */
export const albumsProfile: Profile = {
  name: 'albums',
  title: 'A personal albums app: /api/photos, /api/photos/upload|delete|move|dimensions',
  routes: (deps) => [
    {
      method: 'GET',
      path: '/api/photos',
      handle: failingAs(MESSAGES.listFailed, (request) => listPhotos(deps, request)),
    },
    {
      method: 'POST',
      path: '/api/photos/upload',
      handle: failingAs(MESSAGES.uploadFailed, (request) => uploadPhoto(deps, request)),
    },
    {
      method: 'DELETE',
      path: '/api/photos/delete',
      handle: failingAs(MESSAGES.deleteFailed, (request) => deletePhoto(deps, request)),
    },
    {
      method: 'PATCH',
      path: '/api/photos/move',
      handle: failingAs(MESSAGES.moveFailed, (request) => movePhoto(deps, request)),
    },
    {
      method: 'PATCH',
      path: '/api/photos/dimensions',
      handle: failingAs(MESSAGES.dimensionsFailed, (request) => updateDimensions(deps, request)),
    },
  ],
  errorResponse: albumsErrorResponse,
}

/**
 * `GET /api/photos`: the caller's photos, newest first, as a plain array: all of them up to
 * 1000 (`MAX_LIST` in albums/input.ts), or the `limit` from `offset`. `X-Total-Count` says
 * how many there are in all.
 */
async function listPhotos(deps: ProfileDeps, { url, requireCaller }: ProfileRequest) {
  const caller = await requireCaller()
  const { limit, offset } = readListQuery(url)
  const { photos, total } = await newestFirst(deps.darkroom, caller, limit, offset)
  return json(
    200,
    photos.map((photo) => toSeedPhoto(photo, url)),
    { 'X-Total-Count': String(total) },
  )
}

/** `limit` photos from `offset`, newest first: core's pages (at most 200), followed by cursor. */
async function newestFirst(
  darkroom: Darkroom,
  caller: Caller,
  limit: number,
  offset: number,
): Promise<{ photos: Photo[]; total: number }> {
  const order = { sort: 'uploaded', order: 'desc' } as const
  let page = await darkroom.photos.list(caller, {
    ...order,
    limit: Math.min(limit, MAX_PAGE_SIZE),
    offset,
  })
  const { total } = page
  const photos = [...page.items]
  while (page.nextCursor && photos.length < limit) {
    page = await darkroom.photos.list(caller, {
      ...order,
      limit: Math.min(limit - photos.length, MAX_PAGE_SIZE),
      cursor: page.nextCursor,
    })
    photos.push(...page.items)
  }
  return { photos, total }
}

/**
 * `POST /api/photos/upload`: one image (`file`) into the caller's album `album_id`, or none.
 * Answers the stored photo with its real width and height (read at ingest).
 */
async function uploadPhoto(deps: ProfileDeps, { request, url, requireCaller }: ProfileRequest) {
  const caller = await requireCaller()
  assertQuery(url)
  return withUploadForm(deps, request, caller, async ({ file, albumId }) => {
    const { uploaded, skipped } = await deps.darkroom.photos.upload(caller, {
      files: [{ filename: file.filename, data: localFile(file.path, file.size) }],
      albumId,
    })
    const [photo] = uploaded
    if (photo) return json(200, toSeedPhoto(photo, url))
    // Stored nothing without throwing: the same bytes are already there (a duplicate).
    const refusal = skipped[0] && fileRefusal(skipped[0].reason, deps.darkroom.config)
    if (refusal) throw refusal
    throw new Error(`upload stored nothing: ${JSON.stringify(skipped)}`)
  })
}

/** `DELETE /api/photos/delete` `{ id }`: the row, the original and every variant; `true`. */
async function deletePhoto(deps: ProfileDeps, { request, url, requireCaller }: ProfileRequest) {
  const caller = await requireCaller()
  assertQuery(url)
  const { id } = await readBody(deps, request, deleteBody)
  await deps.darkroom.photos.delete(caller, { id, hard: true })
  return json(200, true)
}

/** `PATCH /api/photos/move` `{ id, album_id }`: into the caller's album, or out of any. */
async function movePhoto(deps: ProfileDeps, { request, url, requireCaller }: ProfileRequest) {
  const caller = await requireCaller()
  assertQuery(url)
  const input = await readBody(deps, request, moveBody)
  const photo = await deps.darkroom.photos.move(caller, {
    id: input.id,
    albumId: input.album_id ?? null,
  })
  return json(200, toSeedPhoto(photo, url))
}

/** `PATCH /api/photos/dimensions` `{ id, width, height }`: a manual fix of the stored size. */
async function updateDimensions(
  deps: ProfileDeps,
  { request, url, requireCaller }: ProfileRequest,
) {
  const caller = await requireCaller()
  assertQuery(url)
  const { id, width, height } = await readBody(deps, request, dimensionsBody)
  const photo = await deps.darkroom.photos.update(caller, { id, width, height })
  return json(200, toSeedPhoto(photo, url))
}
