import { DarkroomError } from '../../errors.js'
import { isPubliclyVisible } from '../../internal/access.js'
import type { AlbumRecord, Caller, PhotoRecord } from '../../domain/types.js'
import type { MetadataOps } from '../../ports/metadata-store.js'
import type { ServiceContext } from '../context.js'

/** The caller's own photo, or `NOT_FOUND` (exactly as for a photo that does not exist). */
export async function loadOwnPhoto(
  db: MetadataOps,
  caller: Caller,
  id: string,
): Promise<PhotoRecord> {
  const photo = await db.getPhoto(id)
  if (!photo || photo.ownerId !== caller.ownerId) throw DarkroomError.notFound('Photo', id)
  return photo
}

/** The caller's own photo, or someone's public one; otherwise `NOT_FOUND`. */
export async function loadReadablePhoto(
  db: MetadataOps,
  caller: Caller,
  id: string,
): Promise<PhotoRecord> {
  const photo = await db.getPhoto(id)
  if (!photo || (photo.ownerId !== caller.ownerId && !isPubliclyVisible(photo))) {
    throw DarkroomError.notFound('Photo', id)
  }
  return photo
}

/** The caller's own album, or `NOT_FOUND`. Pass `lock` inside a transaction. */
export async function loadOwnAlbum(
  db: MetadataOps,
  caller: Caller,
  id: string,
  lock = false,
): Promise<AlbumRecord> {
  const album = lock ? await db.lockAlbum(id) : await db.getAlbum(id)
  if (!album || album.ownerId !== caller.ownerId) throw DarkroomError.notFound('Album', id)
  return album
}

/** Deletes blobs, logging (not throwing) failures: the orphan sweep finds what is left. */
export async function deleteBlobsQuietly(ctx: ServiceContext, keys: readonly string[]) {
  await Promise.all(
    keys.map((key) =>
      ctx.blobs.delete(key).catch((error: unknown) => {
        ctx.logger.warn({ err: error, key }, 'blob delete failed; the orphan sweep will retry')
      }),
    ),
  )
}

export function blobKeysOf(photo: PhotoRecord): string[] {
  return [photo.originalKey, ...photo.variants.map((v) => v.key)]
}
