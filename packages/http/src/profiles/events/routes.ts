import {
  DarkroomError,
  isDarkroomError,
  requireScope,
  type Caller,
  type Scope,
} from '@darkroom/core'
import { parseInput } from '../../api/json-body.js'
import { empty, json } from '../../internal/responses.js'
import type { ProfileDeps, ProfileRequest, ProfileRoute } from '../profile.js'
import { uploadBatch, type BatchAnswer } from './batch-upload.js'
import type { ChunkedUploadStore } from './chunked-uploads.js'
import { typeRefusal, type AllowedTypes } from './file-types.js'
import {
  batchTooLarge,
  BULK_DELETE,
  categoryOf,
  chunkIndex,
  contentLength,
  LIST_QUERY,
  MAX_BATCH_BYTES,
  NO_BODY,
  NO_QUERY,
  PATCH_PHOTO,
  readQuery,
  refuseLargeBatch,
  START_UPLOAD,
  toListInput,
} from './inputs.js'
import { toSeedPhoto } from './seed-photo.js'

/**
 * The events API's routes, each a translation: check the caller and its scope (401, 403), read
 * the input strictly (`inputs.ts`), call the engine as that caller, answer in the seed's fields
 * (`seed-photo.ts`). Whatever throws is answered by the profile's one error mapper.
 */

/** What the routes share beyond the handler's deps. */
export interface EventsContext {
  /** `general_allowed_file_types`, with the engine's video types when video is on. */
  allowed: AllowedTypes
  uploads: ChunkedUploadStore
}

export function eventRoutes(deps: ProfileDeps, ctx: EventsContext): ProfileRoute[] {
  const { darkroom } = deps

  /** The caller holding `scope`: 401 without one, 403 without the scope. */
  const callerWith = async (request: ProfileRequest, scope: Scope): Promise<Caller> => {
    const caller = await request.requireCaller()
    requireScope(caller, scope)
    return caller
  }

  /** A body that must be empty (or `{}`): anything in it is refused, named. */
  const noBody = async (request: Request) => parseInput(NO_BODY, await deps.readJson(request))

  return [
    {
      method: 'POST',
      path: '/v1/events/:id/photos',
      async handle(request) {
        const caller = await callerWith(request, 'photos.write')
        readQuery(request.url, NO_QUERY)
        refuseLargeBatch(request.request)
        const eventId = request.params.id!
        // 404 for an event that is not the caller's, 400 for a full one, before a byte is read.
        await darkroom.photos.precheck(caller, { albumId: eventId })
        const form = await deps.receiveForm(request.request, { fileFields: ['photos'], caller })
        try {
          const category = categoryOf(form)
          if (form.files.length === 0) {
            throw DarkroomError.validation([
              { property: 'photos', message: 'Send at least one file as -F "photos=@path".' },
            ])
          }
          const total = form.files.reduce((sum, f) => sum + f.size, 0)
          if (total > MAX_BATCH_BYTES) throw batchTooLarge(total)
          const answer = await uploadBatch(darkroom, caller, ctx.allowed, {
            eventId,
            category,
            files: form.files,
            propertyOf: (index) => `photos[${index}]`,
          })
          return uploadAnswer(answer)
        } finally {
          await form.dispose()
        }
      },
    },
    {
      method: 'GET',
      path: '/v1/events/:id/photos',
      async handle(request) {
        const caller = await callerWith(request, 'photos.read')
        const query = readQuery(request.url, LIST_QUERY)
        const eventId = request.params.id!
        await darkroom.albums.get(caller, { id: eventId })
        const input = toListInput(eventId, query)
        const page = await darkroom.photos.list(caller, input)
        return json(200, {
          photos: page.items.map(toSeedPhoto),
          total: page.total,
          limit: input.limit,
          offset: input.offset,
        })
      },
    },
    {
      method: 'POST',
      path: '/v1/events/:id/uploads',
      async handle(request) {
        const caller = await callerWith(request, 'photos.write')
        readQuery(request.url, NO_QUERY)
        const body = parseInput(START_UPLOAD, await deps.readJson(request.request))
        const eventId = request.params.id!
        // One token of the upload rate limit per chunked upload, taken when it is started.
        await deps.limitUpload(request.request, caller)
        await darkroom.photos
          .precheck(caller, { albumId: eventId, size: body.size })
          .catch(renameProperty('file', 'size'))
        const upload = await ctx.uploads.create({
          ownerId: caller.ownerId,
          eventId,
          filename: body.filename,
          size: body.size,
          mimeType: body.mime_type,
        })
        return json(201, { upload_id: upload.id, chunk_size: upload.chunkSize })
      },
    },
    {
      method: 'PUT',
      path: '/v1/uploads/:upload_id/chunks/:index',
      async handle(request) {
        const caller = await callerWith(request, 'photos.write')
        readQuery(request.url, NO_QUERY)
        const upload = await ctx.uploads.get(caller.ownerId, request.params.upload_id!)
        const index = chunkIndex(request.params.index!)
        const size = await ctx.uploads.writeChunk(upload, index, request.request.body, {
          declaredLength: contentLength(request.request),
          // The first bytes settle the type: a file the event does not take stops here.
          ...(index === 0 ? { check: (path: string) => refuseType(path, ctx) } : {}),
        })
        return json(200, { upload_id: upload.id, index, size })
      },
    },
    {
      method: 'POST',
      path: '/v1/uploads/:upload_id/complete',
      async handle(request) {
        const caller = await callerWith(request, 'photos.write')
        readQuery(request.url, NO_QUERY)
        await noBody(request.request)
        const answer = await ctx.uploads.complete(
          caller.ownerId,
          request.params.upload_id!,
          (path, upload) =>
            uploadBatch(darkroom, caller, ctx.allowed, {
              eventId: upload.eventId,
              category: null,
              files: [{ filename: upload.filename, path, size: upload.size, truncated: false }],
              propertyOf: () => 'file',
            }),
        )
        return uploadAnswer(answer)
      },
    },
    {
      method: 'POST',
      path: '/v1/photos/bulk-delete',
      async handle(request) {
        const caller = await callerWith(request, 'photos.write')
        readQuery(request.url, NO_QUERY)
        const body = parseInput(BULK_DELETE, await deps.readJson(request.request))
        const ids = body.photo_ids.map(String)
        const result = await darkroom.photos.bulkDelete(caller, { ids, hard: true })
        return json(200, { deleted: result.deleted, failed: result.failed })
      },
    },
    {
      method: 'POST',
      path: '/v1/photos/repair-dimensions',
      async handle(request) {
        const caller = await callerWith(request, 'photos.write')
        readQuery(request.url, NO_QUERY)
        await noBody(request.request)
        const result = await darkroom.photos.repairDimensions(caller, { onlyMissing: true })
        return json(200, {
          scanned: result.scanned,
          repaired: result.repaired,
          failed: result.failed,
        })
      },
    },
    {
      method: 'GET',
      path: '/v1/photos/:id',
      async handle(request) {
        const caller = await callerWith(request, 'photos.read')
        readQuery(request.url, NO_QUERY)
        const id = request.params.id!
        const photo = await darkroom.photos.get(caller, { id })
        // Someone else's public photo, or one in Darkroom's trash, is not in this API: 404.
        if (photo.ownerId !== caller.ownerId || photo.deletedAt) {
          throw DarkroomError.notFound('Photo', id)
        }
        return json(200, toSeedPhoto(photo))
      },
    },
    {
      method: 'PATCH',
      path: '/v1/photos/:id',
      async handle(request) {
        const caller = await callerWith(request, 'photos.write')
        readQuery(request.url, NO_QUERY)
        const body = parseInput(PATCH_PHOTO, await deps.readJson(request.request))
        const photo = await darkroom.photos.update(caller, {
          id: request.params.id!,
          hidden: body.is_hidden,
        })
        return json(200, toSeedPhoto(photo))
      },
    },
    {
      method: 'DELETE',
      path: '/v1/photos/:id',
      async handle(request) {
        const caller = await callerWith(request, 'photos.write')
        readQuery(request.url, NO_QUERY)
        await darkroom.photos.delete(caller, { id: request.params.id!, hard: true })
        return empty(204)
      },
    },
  ]
}

/** 201 when a photo was stored, 200 when every file was skipped (duplicates). */
function uploadAnswer(answer: BatchAnswer): Response {
  return json(answer.uploaded.length > 0 ? 201 : 200, answer)
}

async function refuseType(path: string, ctx: EventsContext): Promise<void> {
  const message = await typeRefusal(path, ctx.allowed)
  if (message) {
    throw DarkroomError.validation([{ property: 'chunk', message, reason: 'invalid_type' }])
  }
}

/** A `.catch` renaming the violations about `from` to `to` (the engine's name to the seed's). */
function renameProperty(from: string, to: string): (error: unknown) => never {
  return (error) => {
    if (!isDarkroomError(error) || !error.violations.some((v) => v.property === from)) throw error
    throw new DarkroomError(error.code, error.message, {
      cause: error,
      violations: error.violations.map((v) => (v.property === from ? { ...v, property: to } : v)),
      ...(error.cap ? { cap: error.cap } : {}),
    })
  }
}
