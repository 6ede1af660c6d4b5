import { iso } from '../internal/dates.js'
import { uploadStatusInput, uploadStatusSchema } from '../schemas/upload.js'
import { UploadRecords } from '../records/uploads.js'
import { router, type Procedures } from '../trpc.js'

export function uploadsRouter(p: Procedures) {
  return router({
    /** A tus upload's state: `receiving`, `processing`, `ready` (photoId) or `failed` (error). */
    status: p.authed
      .input(uploadStatusInput)
      .output(uploadStatusSchema)
      .query(async ({ ctx, input }) => {
        const upload = await new UploadRecords(ctx.serverStore, ctx.clock).find(
          input.id,
          ctx.caller,
        )
        return { ...upload, createdAt: iso(upload.createdAt), updatedAt: iso(upload.updatedAt) }
      }),
  })
}
