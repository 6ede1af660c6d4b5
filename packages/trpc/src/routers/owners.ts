import { ownerInfoSchema, ownersMeInput, setQuotaInput } from '../schemas/owner.js'
import { router, type Procedures } from '../trpc.js'

export function ownersRouter(p: Procedures) {
  return router({
    /** The caller's own quota, storage use and profile picture (`photos.read`). */
    me: p.authed
      .input(ownersMeInput)
      .output(ownerInfoSchema)
      .query(({ ctx }) => ctx.darkroom.owners.me(ctx.caller)),

    /** An owner's quota in bytes (null: the default). Admins only; answers as `me` would. */
    setQuota: p.authed
      .input(setQuotaInput)
      .output(ownerInfoSchema)
      .mutation(({ ctx, input }) => ctx.darkroom.owners.setQuota(ctx.caller, input)),
  })
}
