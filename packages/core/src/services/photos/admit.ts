import { DarkroomError } from '../../errors.js'
import { positionAfter } from '../../domain/position.js'
import type { Caller, PhotoRecord } from '../../domain/types.js'
import type { MetadataOps } from '../../ports/metadata-store.js'
import type { ServiceContext } from '../context.js'
import { assertRoom } from './room.js'
import { loadOwnAlbum, loadOwnPhoto } from './shared.js'

/**
 * What `admit` writes:
 * - `insert`: a new row (an upload, a copy) at the end of its album; counts one photo and its
 *   bytes (a copy's too, though it shares its source's blobs);
 * - `move`: a photo into `albumId` (or out of any album), at its end; counts one photo unless the
 *   photo is in the trash, and no bytes (they are stored already);
 * - `restore`: a photo out of the trash, where it was; counts one photo, no bytes. A photo that
 *   is not in the trash is returned as it is.
 */
export type Admission = { caller: Caller } & (
  | {
      kind: 'insert'
      record: PhotoRecord
      /**
       * A copy: the id of the photo whose blobs `record` names. It is locked in the transaction
       * and must still be the caller's and name the same original, or the insert is `NOT_FOUND`.
       */
      sharesBlobsOf?: string
    }
  | { kind: 'move'; photoId: string; albumId: string | null }
  | { kind: 'restore'; photoId: string }
)

/**
 * The one way a photo enters an album or an owner's storage (batch upload, tus, copy, move,
 * restore from the trash, and the duplicate of a trashed photo): in one transaction, with the
 * album locked and then the owner, the cap and quota are checked (`assertRoom`), the position
 * at the end of the album is taken and the row is written, so two admissions into the same
 * album or owner can never both pass a cap that only one fits.
 *
 * Throws `NOT_FOUND` (album or photo not the caller's), `CAP_EXCEEDED`, or the store's
 * `CONFLICT` when the album already holds the same bytes. Returns the row as written. Blobs must
 * be durable before the call: once it resolves, the photo is visible.
 */
export async function admit(ctx: ServiceContext, admission: Admission): Promise<PhotoRecord> {
  // The transaction may be run again (a deadlock victim): each run starts from the admission.
  return ctx.store.transaction((tx) => {
    switch (admission.kind) {
      case 'insert':
        return insert(ctx, tx, admission)
      case 'move':
        return move(ctx, tx, admission)
      case 'restore':
        return restore(ctx, tx, admission)
    }
  })
}

type Of<K extends Admission['kind']> = Extract<Admission, { kind: K }>

async function insert(ctx: ServiceContext, tx: MetadataOps, admission: Of<'insert'>) {
  const { caller, record } = admission
  await lockRoom(ctx, tx, { caller, albumId: record.albumId, addPhotos: 1, addBytes: record.size })
  if (admission.sharesBlobsOf !== undefined) {
    // Under the source's row lock: a hard delete of it commits before (and we refuse) or after
    // this row is visible (and it keeps the blobs).
    const source = await tx.lockPhoto(admission.sharesBlobsOf)
    if (!source || source.ownerId !== caller.ownerId || source.originalKey !== record.originalKey) {
      throw DarkroomError.notFound('Photo', admission.sharesBlobsOf)
    }
  }
  const row = { ...record, position: await endOf(tx, caller, record.albumId) }
  await tx.insertPhoto(row)
  return row
}

async function move(ctx: ServiceContext, tx: MetadataOps, admission: Of<'move'>) {
  const { caller, albumId } = admission
  const album = albumId === null ? null : await loadOwnAlbum(tx, caller, albumId, true)
  const photo = await loadOwnPhoto(tx, caller, admission.photoId)
  const addPhotos = photo.deletedAt ? 0 : 1
  await assertRoom(ctx, tx, { ownerId: caller.ownerId, album, addPhotos, addBytes: 0, lock: true })
  const position = await endOf(tx, caller, albumId)
  return tx.updatePhoto(photo.id, { albumId, position, updatedAt: ctx.clock.now() })
}

async function restore(ctx: ServiceContext, tx: MetadataOps, admission: Of<'restore'>) {
  const { caller } = admission
  const photo = await loadOwnPhoto(tx, caller, admission.photoId)
  if (!photo.deletedAt) return photo
  await lockRoom(ctx, tx, { caller, albumId: photo.albumId, addPhotos: 1, addBytes: 0 })
  return tx.updatePhoto(photo.id, { deletedAt: null, updatedAt: ctx.clock.now() })
}

/** Locks the album (`NOT_FOUND` when it is not the caller's), then checks the room in it. */
async function lockRoom(
  ctx: ServiceContext,
  tx: MetadataOps,
  room: { caller: Caller; albumId: string | null; addPhotos: number; addBytes: number },
): Promise<void> {
  const { caller, albumId, addPhotos, addBytes } = room
  const album = albumId === null ? null : await loadOwnAlbum(tx, caller, albumId, true)
  await assertRoom(ctx, tx, { ownerId: caller.ownerId, album, addPhotos, addBytes, lock: true })
}

/** A position after every photo of the caller's album (or of their photos outside any). */
async function endOf(tx: MetadataOps, caller: Caller, albumId: string | null): Promise<string> {
  return positionAfter(await tx.getLastPosition(caller.ownerId, albumId))
}
