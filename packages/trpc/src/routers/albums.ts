import {
  albumIdInput,
  albumSchema,
  createAlbumInput,
  deleteAlbumResultSchema,
  updateAlbumInput,
} from '../schemas/album.js'
import { router, type Procedures } from '../trpc.js'

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

    /**
     * The album goes; its photos stay, outside any album (one whose bytes are there already is
     * merged into that photo, and listed in `merged`).
     */
    delete: p.authed
      .input(albumIdInput)
      .output(deleteAlbumResultSchema)
      .mutation(({ ctx, input }) => ctx.darkroom.albums.delete(ctx.caller, input)),
  })
}
