import { albumIdInput, albumSchema, createAlbumInput, updateAlbumInput } from '../schemas/album.js'
import { router, type Procedures } from '../trpc.js'
import { z } from 'zod'

export function albumsRouter(p: Procedures) {
  return router({
    create: p.authed
      .input(createAlbumInput)
      .output(albumSchema)
      .mutation(({ ctx, input }) => ctx.darkroom.albums.create(ctx.caller, input)),

    list: p.authed
      .output(albumSchema.array())
      .query(({ ctx }) => ctx.darkroom.albums.list(ctx.caller)),

    get: p.authed
      .input(albumIdInput)
      .output(albumSchema)
      .query(({ ctx, input }) => ctx.darkroom.albums.get(ctx.caller, input)),

    update: p.authed
      .input(updateAlbumInput)
      .output(albumSchema)
      .mutation(({ ctx, input }) => ctx.darkroom.albums.update(ctx.caller, input)),

    /** The album goes; its photos stay, outside any album. */
    delete: p.authed
      .input(albumIdInput)
      .output(z.object({ id: z.string() }))
      .mutation(({ ctx, input }) => ctx.darkroom.albums.delete(ctx.caller, input)),
  })
}
