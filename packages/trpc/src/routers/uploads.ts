import { hasScope } from '@darkroom/core'
import { iso } from '../internal/dates.js'
import { uploadStatusAnswerSchema, uploadStatusInput } from '../schemas/upload.js'
import { UploadRecords } from '../records/uploads.js'
import { router, type Procedures } from '../trpc.js'

export function uploadsRouter(p: Procedures) {
  return router({
    /** A tus upload's state: `receiving`, `processing`, `ready` (photoId) or `failed` (error). */
    status: p.authed
      .input(uploadStatusInput)
      .output(uploadStatusAnswerSchema)
      .query(async ({ ctx, input }) => {
        const upload = await new UploadRecords(ctx.serverStore, ctx.clock).find(
          input.id,
          ctx.caller,
        )
        const status = {
          ...upload,
          createdAt: iso(upload.createdAt),
          updatedAt: iso(upload.updatedAt),
        }
        if (hasScope(ctx.caller, 'photos.read')) return status
        // The filename becomes the photo's: photo data, withheld from a write-only key.
        const { filename: _withheld, ...rest } = status
        return { ...rest, withheld: true as const }
      }),
  })
}
