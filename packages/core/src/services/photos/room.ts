import { DarkroomError } from '../../errors.js'
import type { AlbumRecord } from '../../domain/types.js'
import type { MetadataOps } from '../../ports/metadata-store.js'
import type { ServiceContext } from '../context.js'

/** Adding photos and bytes to an album and an owner's storage. */
export interface Room {
  ownerId: string
  /** The album the photos land in; null: outside any album (no cap). */
  album: AlbumRecord | null
  /** Photos added to the album (0 when the album's count does not change). */
  addPhotos: number
  /** Bytes added to the owner's storage (0 when nothing new is stored). */
  addBytes: number
  /**
   * True inside `admit`'s transaction: the owner row is locked (with the album locked by the
   * caller), so the answer holds at commit. False for an early refusal, which reads without
   * locking and is only advisory.
   */
  lock: boolean
}

/**
 * The cap and quota rules, the only place they are written: throws `CAP_EXCEEDED` (cap
 * `photoCap` or `quotaBytes`) when adding `addPhotos` photos would pass the album's photoCap or
 * adding `addBytes` bytes the owner's quota (their own, else `limits.defaultQuotaBytes`).
 * Authoritative only inside `admit`; the early refusals of a batch and of a resumable upload call
 * it too, unlocked, so that they refuse exactly what `admit` would.
 */
export async function assertRoom(ctx: ServiceContext, db: MetadataOps, room: Room): Promise<void> {
  const { album, ownerId, addPhotos, addBytes } = room
  if (album && album.photoCap !== null && addPhotos > 0) {
    const count = await db.countAlbumPhotos(album.id)
    if (count + addPhotos > album.photoCap) {
      throw capExceeded({
        name: 'photoCap',
        limit: album.photoCap,
        current: count,
        requested: addPhotos,
        subject: `album ${album.id}`,
      })
    }
  }
  // Locked whether or not bytes are added: every admission of this owner runs one at a time.
  const owner = room.lock
    ? await db.lockOwner(ownerId)
    : addBytes > 0
      ? await db.getOwner(ownerId)
      : null
  if (addBytes <= 0) return
  const quota = owner?.quotaBytes ?? ctx.config.limits.defaultQuotaBytes
  if (quota === null) return
  const used = await db.sumOwnerBytes(ownerId)
  if (used + addBytes > quota) {
    throw capExceeded({
      name: 'quotaBytes',
      limit: quota,
      current: used,
      requested: addBytes,
      subject: `owner ${ownerId}`,
    })
  }
}

/** The `CAP_EXCEEDED` error of a cap, naming its subject (`album <id>`, `owner <id>`), limit and use. */
export function capExceeded(cap: {
  name: 'photoCap' | 'quotaBytes' | 'maxFilesPerBatch'
  limit: number
  current: number
  requested: number
  subject: string
}): DarkroomError {
  const { name, limit, current, requested, subject } = cap
  const what =
    name === 'photoCap'
      ? `The photo cap of ${subject} is ${limit}; it holds ${current} and ${requested} more would pass it.`
      : name === 'quotaBytes'
        ? `The storage quota of ${subject} is ${limit} bytes; ${current} are used and ${requested} more would pass it.`
        : `A batch may hold at most ${limit} files; this one has ${requested}.`
  return new DarkroomError('CAP_EXCEEDED', what, { cap: { name, limit, current, requested } })
}
