import { Readable } from 'node:stream'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'
import { DarkroomError, localFile, type UploadFile } from '@darkroom/core'
import {
  bulkDeletePhotosInput,
  bulkDeleteResultSchema,
  commentSchema,
  deletePhotoInput,
  deleteResultSchema,
  getManyPhotosInput,
  getPhotoInput,
  listCommentsInput,
  listPhotosInput,
  movePhotoInput,
  photoAnswerSchema,
  photoListSchema,
  photoSchema,
  reactInput,
  reorderPhotoInput,
  repairDimensionsInput,
  repairResultSchema,
  restorePhotoInput,
  signedUrlsSchema,
  signUrlsInput,
  updatePhotoInput,
} from '../schemas/photo.js'
import { uploadFormInput, uploadResultSchema, type UploadedFormFile } from '../schemas/upload.js'
import { router, type Procedures } from '../trpc.js'

export function photosRouter(p: Procedures) {
  return router({
    /**
     * A multipart batch. Each file reaches core as a stream, read when core gets to it (up to
     * `concurrency` at a time), never concatenated into one buffer by this procedure.
     */
    upload: p.upload
      .input(uploadFormInput)
      .output(uploadResultSchema)
      .mutation(({ ctx, input }) => {
        const { files, ...fields } = input
        return ctx.darkroom.photos.upload(ctx.caller, { ...fields, files: files.map(toUploadFile) })
      }),

    list: p.authed
      .input(listPhotosInput)
      .output(photoListSchema)
      .query(({ ctx, input }) => ctx.darkroom.photos.list(ctx.caller, input)),

    get: p.authed
      .input(getPhotoInput)
      .output(photoSchema)
      .query(({ ctx, input }) => ctx.darkroom.photos.get(ctx.caller, input)),

    getMany: p.authed
      .input(getManyPhotosInput)
      .output(photoSchema.array())
      .query(({ ctx, input }) => ctx.darkroom.photos.getMany(ctx.caller, input)),

    /**
     * A srcset of signed `/image` URLs for one of the caller's photos, private ones included:
     * one signature covers the photo, the format, the widths and the expiry, and each URL adds
     * one of those widths (see the http package's signed-urls.ts). The expiry is rounded up to
     * the next 5 minutes, so calls within those minutes answer the same URLs and browsers keep
     * their cached copies. Someone else's photo is refused even when public: a signed URL reads
     * as the owner (exact sizes, past a watermark), and public photos need none.
     */
    signUrls: p.authed
      .input(signUrlsInput)
      .output(signedUrlsSchema)
      .query(async ({ ctx, input }) => {
        const photo = await ctx.darkroom.photos.get(ctx.caller, { id: input.id })
        if (photo.ownerId !== ctx.caller.ownerId) {
          throw new DarkroomError(
            'FORBIDDEN',
            `Only the owner of photo ${JSON.stringify(photo.id)} can sign its URLs; a public ` +
              'photo needs no signature (/image/{id}.{ext}?w=).',
          )
        }
        if (!p.signImageUrls) {
          throw new Error('photos.signUrls: the router was made without `signImageUrls`.')
        }
        const ttlMs = (input.expiresInSeconds ?? 3600) * 1000
        const step = 5 * 60_000
        const expiresAt = new Date(Math.ceil((ctx.clock.now().getTime() + ttlMs) / step) * step)
        const signed = p.signImageUrls({
          photo,
          format: input.format ?? 'auto',
          ...(input.widths ? { widths: input.widths } : {}),
          expiresAt,
        })
        return {
          src: signed.src,
          srcset: signed.srcset,
          ...(input.sizes ? { sizes: input.sizes } : {}),
          widths: signed.widths,
          width: photo.width,
          height: photo.height,
          expiresAt: signed.expiresAt.toISOString(),
        }
      }),

    update: p.authed
      .input(updatePhotoInput)
      .output(photoAnswerSchema)
      .mutation(({ ctx, input }) => ctx.darkroom.photos.update(ctx.caller, input)),

    move: p.authed
      .input(movePhotoInput)
      .output(photoAnswerSchema)
      .mutation(async ({ ctx, input }) => {
        // A copy adds a photo as an upload does, and counts against the same rate limit.
        if (input.copy) await p.limitAsUpload(ctx)
        return ctx.darkroom.photos.move(ctx.caller, input)
      }),

    reorder: p.authed
      .input(reorderPhotoInput)
      .output(photoAnswerSchema)
      .mutation(({ ctx, input }) => ctx.darkroom.photos.reorder(ctx.caller, input)),

    delete: p.authed
      .input(deletePhotoInput)
      .output(deleteResultSchema)
      .mutation(({ ctx, input }) => ctx.darkroom.photos.delete(ctx.caller, input)),

    bulkDelete: p.authed
      .input(bulkDeletePhotosInput)
      .output(bulkDeleteResultSchema)
      .mutation(({ ctx, input }) => ctx.darkroom.photos.bulkDelete(ctx.caller, input)),

    restore: p.authed
      .input(restorePhotoInput)
      .output(photoAnswerSchema)
      .mutation(({ ctx, input }) => ctx.darkroom.photos.restore(ctx.caller, input)),

    repairDimensions: p.authed
      .input(repairDimensionsInput)
      .output(repairResultSchema)
      .mutation(({ ctx, input }) => ctx.darkroom.photos.repairDimensions(ctx.caller, input)),

    react: p.authed
      .input(reactInput)
      .output(photoSchema)
      .mutation(({ ctx, input }) => ctx.darkroom.photos.react(ctx.caller, input)),

    listComments: p.authed
      .input(listCommentsInput)
      .output(commentSchema.array())
      .query(({ ctx, input }) => ctx.darkroom.photos.listComments(ctx.caller, input)),
  })
}

/**
 * The form's File as core's input: the file on disk when the edge spooled it there, else a
 * Node stream over its bytes, opened lazily.
 */
function toUploadFile(file: UploadedFormFile): UploadFile {
  if (file.path) return { filename: file.name, data: localFile(file.path, file.size) }
  return {
    filename: file.name,
    data: Readable.fromWeb(file.stream() as NodeReadableStream<Uint8Array>),
  }
}
