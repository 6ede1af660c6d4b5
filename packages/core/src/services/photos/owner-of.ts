import type { ServiceContext } from '../context.js'

/**
 * The owner of a photo, or null when there is none. For an edge that has verified a capability
 * for this exact photo itself (a signed URL) and then acts as its owner with `photos.read`;
 * never an answer to hand to a caller, since it tells whose a photo is.
 */
export async function ownerOf(ctx: ServiceContext, id: string): Promise<string | null> {
  if (typeof id !== 'string' || id.length === 0 || id.length > 64) return null
  return (await ctx.store.getPhoto(id))?.ownerId ?? null
}
