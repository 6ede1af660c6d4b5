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

/**
 * Inside a transaction, with the album and owner locked: throws `CAP_EXCEEDED` when adding
 * `addPhotos` photos and `addBytes` bytes would pass the album's photoCap or the owner's quota.
 */
export async function assertRoom(
  ctx: ServiceContext,
  tx: MetadataOps,
  ownerId: string,
  album: AlbumRecord | null,
  addPhotos: number,
  addBytes: number,
): Promise<void> {
  if (album && album.photoCap !== null && addPhotos > 0) {
    const count = await tx.countAlbumPhotos(album.id)
    if (count + addPhotos > album.photoCap) {
      throw capExceeded('photoCap', album.photoCap, count, addPhotos, `album ${album.id}`)
    }
  }
  const owner = await tx.lockOwner(ownerId)
  const quota = owner.quotaBytes ?? ctx.config.limits.defaultQuotaBytes
  if (quota !== null && addBytes > 0) {
    const used = await tx.sumOwnerBytes(ownerId)
    if (used + addBytes > quota) {
      throw capExceeded('quotaBytes', quota, used, addBytes, `owner ${ownerId}`)
    }
  }
}

export function capExceeded(
  name: 'photoCap' | 'quotaBytes' | 'maxFilesPerBatch',
  limit: number,
  current: number,
  requested: number,
  subject: string,
): DarkroomError {
  const what =
    name === 'photoCap'
      ? `The photo cap of ${subject} is ${limit}; it holds ${current} and ${requested} more would pass it.`
      : name === 'quotaBytes'
        ? `The storage quota of ${subject} is ${limit} bytes; ${current} are used and ${requested} more would pass it.`
        : `A batch may hold at most ${limit} files; this one has ${requested}.`
  return new DarkroomError('CAP_EXCEEDED', what, { cap: { name, limit, current, requested } })
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
