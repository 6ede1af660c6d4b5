import { DarkroomError } from '../../errors.js'
import { originalKey, photoIdOfKey } from '../../domain/blob-keys.js'
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

/**
 * Inside a transaction: removes the photo's row (with its reactions); if it was its owner's
 * profile picture, `replacementId` (default none) is in the same transaction.
 */
export async function deletePhotoRow(
  tx: MetadataOps,
  photo: PhotoRecord,
  replacementId: string | null = null,
): Promise<void> {
  await tx.deletePhoto(photo.id)
  await replaceProfilePicture(tx, photo, replacementId)
}

/**
 * Inside the transaction that deletes (or trashes) `photo`: if it is its owner's profile
 * picture, the picture becomes `replacementId` (default none), so it never points at a photo
 * that is gone or in the trash.
 */
export async function replaceProfilePicture(
  tx: MetadataOps,
  photo: PhotoRecord,
  replacementId: string | null = null,
): Promise<void> {
  const owner = await tx.getOwner(photo.ownerId)
  if (owner?.profilePhotoId === photo.id) {
    await tx.upsertOwner({ ...owner, profilePhotoId: replacementId })
  }
}

/**
 * After the transaction that removed their rows: deletes the blobs among `keys` that are not
 * in use (see `keptBlobKeys`), so that a row which shares a blob never loses it. Failures are
 * logged; the orphan sweep retries.
 */
export async function deleteUnreferencedBlobs(
  ctx: ServiceContext,
  keys: readonly string[],
): Promise<void> {
  if (keys.length === 0) return
  const kept = await keptBlobKeys(ctx.store, keys)
  await deleteBlobsQuietly(
    ctx,
    keys.filter((key) => !kept.has(key)),
  )
}

/**
 * Which of `keys` must stay: those a photo row references and those retained on purpose
 * (`preserveOnDisk`). The one rule of the orphan sweep and of every delete. A key's rows are
 * found from the photo id it is made from: the photo that wrote it and every copy sharing its
 * blobs name `originalKey(id)` (see `blob-keys.ts`).
 */
export async function keptBlobKeys(db: MetadataOps, keys: readonly string[]): Promise<Set<string>> {
  const ids = [...new Set(keys.map(photoIdOfKey).filter((id) => id !== null))]
  const rows = ids.length > 0 ? await db.findPhotosByOriginalKey(ids.map(originalKey)) : []
  const kept = new Set(rows.flatMap(blobKeysOf))
  for (const key of await db.findRetainedBlobs(keys)) kept.add(key)
  return kept
}

export function blobKeysOf(photo: PhotoRecord): string[] {
  return [photo.originalKey, ...photo.variants.map((v) => v.key)]
}
