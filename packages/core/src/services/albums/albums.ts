import { DarkroomError, type Violation } from '../../errors.js'
import { toAlbum, toPhoto } from '../../domain/photo.js'
import type { Album, Caller, PhotoRecord } from '../../domain/types.js'
import { requireScope } from '../../internal/access.js'
import type { AlbumPatch } from '../../ports/metadata-store.js'
import type { ServiceContext } from '../context.js'
import {
  blobKeysOf,
  deletePhotoRow,
  deleteUnreferencedBlobs,
  loadOwnAlbum,
  loadOwnPhoto,
} from '../photos/shared.js'

export interface CreateAlbumInput {
  title: string
  description?: string
  /** The most photos (trash excluded) the album may hold; null or omitted: no cap. */
  photoCap?: number | null
}

export interface UpdateAlbumInput {
  id: string
  title?: string
  description?: string
  photoCap?: number | null
  coverPhotoId?: string | null
}

function validate(input: Partial<CreateAlbumInput>, creating: boolean): Violation[] {
  const violations: Violation[] = []
  if (creating || input.title !== undefined) {
    const title = input.title?.trim() ?? ''
    if (title.length < 1 || title.length > 200) {
      violations.push({ property: 'title', message: 'The title has 1 to 200 characters.' })
    }
  }
  if (input.description !== undefined && input.description.length > 10_000) {
    violations.push({
      property: 'description',
      message: 'The description is at most 10000 characters.',
    })
  }
  if (
    input.photoCap !== undefined &&
    input.photoCap !== null &&
    (!Number.isInteger(input.photoCap) || input.photoCap < 0 || input.photoCap > 1_000_000)
  ) {
    violations.push({
      property: 'photoCap',
      message: 'The photo cap is a whole number from 0 to 1000000.',
    })
  }
  return violations
}

export async function create(
  ctx: ServiceContext,
  caller: Caller,
  input: CreateAlbumInput,
): Promise<Album> {
  requireScope(caller, 'photos.write')
  const violations = validate(input, true)
  if (violations.length > 0) throw DarkroomError.validation(violations)
  const now = ctx.clock.now()
  const record = {
    id: ctx.ids.newId(),
    ownerId: caller.ownerId,
    title: input.title.trim(),
    description: input.description ?? '',
    photoCap: input.photoCap ?? null,
    coverPhotoId: null,
    createdAt: now,
    updatedAt: now,
  }
  await ctx.store.insertAlbum(record)
  const album = toAlbum({ ...record, photoCount: 0 })
  await ctx.events.emit([ctx.events.make('album.created', caller.ownerId, album.id, { album })])
  return album
}

export async function list(ctx: ServiceContext, caller: Caller): Promise<Album[]> {
  requireScope(caller, 'photos.read')
  return (await ctx.store.listAlbums(caller.ownerId)).map(toAlbum)
}

export async function get(
  ctx: ServiceContext,
  caller: Caller,
  input: { id: string },
): Promise<Album> {
  requireScope(caller, 'photos.read')
  const album = await loadOwnAlbum(ctx.store, caller, input.id)
  return toAlbum({ ...album, photoCount: await ctx.store.countAlbumPhotos(album.id) })
}

/**
 * Changes an album's title, description, photo cap or cover. A photo cap below the photos the
 * album holds now (the trash excluded, as for the cap itself) is refused with `VALIDATION` on
 * `photoCap`, naming the count: it is the value given that cannot be taken, and nothing is
 * removed to make room. The check and the write share one transaction with the album locked,
 * so no admission slips in between.
 */
export async function update(
  ctx: ServiceContext,
  caller: Caller,
  input: UpdateAlbumInput,
): Promise<Album> {
  requireScope(caller, 'photos.write')
  const violations = validate(input, false)
  if (violations.length > 0) throw DarkroomError.validation(violations)
  const patch: AlbumPatch = { updatedAt: ctx.clock.now() }
  if (input.title !== undefined) patch.title = input.title.trim()
  if (input.description !== undefined) patch.description = input.description
  if (input.photoCap !== undefined) patch.photoCap = input.photoCap
  if (input.coverPhotoId !== undefined) patch.coverPhotoId = input.coverPhotoId
  const { record, photoCount } = await ctx.store.transaction(async (tx) => {
    await loadOwnAlbum(tx, caller, input.id, true)
    const count = await tx.countAlbumPhotos(input.id)
    if (input.photoCap != null && input.photoCap < count) {
      throw DarkroomError.validation([
        {
          property: 'photoCap',
          message:
            `Album ${input.id} holds ${count} photos; its photo cap cannot be set below that ` +
            `(${input.photoCap} was asked).`,
        },
      ])
    }
    if (input.coverPhotoId) {
      const cover = await loadOwnPhoto(tx, caller, input.coverPhotoId)
      if (cover.albumId !== input.id) {
        throw DarkroomError.validation([
          { property: 'coverPhotoId', message: `Photo ${cover.id} is not in album ${input.id}.` },
        ])
      }
    }
    return { record: await tx.updateAlbum(input.id, patch), photoCount: count }
  })
  const album = toAlbum({ ...record, photoCount })
  await ctx.events.emit([ctx.events.make('album.updated', caller.ownerId, album.id, { album })])
  return album
}

export interface DeleteAlbumResult {
  id: string
  /**
   * Photos that went because their bytes were outside any album already (a library holds one
   * photo per checksum outside any album): each with the photo kept in its place.
   */
  merged: Array<{ id: string; keptId: string }>
}

/**
 * Deletes the album; its photos stay in the library, outside any album.
 *
 * Outside any album a checksum is held once (the duplicate rule of uploads), so a photo whose
 * bytes are there already cannot simply move out. The two are merged, in the transaction that
 * deletes the album: the one kept is the one not in the trash, then the one not pending, and
 * otherwise the one already outside (deleting an album never changes a photo outside it, except
 * to drop a trashed or pending copy of bytes that stay in the library). The other row goes
 * (with its reactions; a profile picture moves to the photo kept), then its blobs, except any
 * that a remaining row references. Each photo that went emits `photo.deleted` (`reason:
 * 'album_deleted_duplicate'`, `keptId`).
 */
export async function remove(
  ctx: ServiceContext,
  caller: Caller,
  input: { id: string },
): Promise<DeleteAlbumResult> {
  requireScope(caller, 'photos.write')
  const merges = await ctx.store.transaction(async (tx) => {
    await loadOwnAlbum(tx, caller, input.id, true)
    const merges: Array<{ dropped: PhotoRecord; kept: PhotoRecord }> = []
    for (const { inAlbum, outside } of await tx.listChecksumClashes(input.id)) {
      const [dropped, kept] =
        standing(outside) >= standing(inAlbum) ? [inAlbum, outside] : [outside, inAlbum]
      await deletePhotoRow(tx, dropped, kept.id)
      merges.push({ dropped, kept })
    }
    await tx.deleteAlbum(input.id)
    return merges
  })
  await deleteUnreferencedBlobs(
    ctx,
    merges.flatMap(({ dropped }) => blobKeysOf(dropped)),
  )
  await ctx.events.emit([
    ...merges.map(({ dropped, kept }) =>
      ctx.events.make('photo.deleted', caller.ownerId, dropped.id, {
        photo: toPhoto(dropped, ctx.config),
        hard: true,
        reason: 'album_deleted_duplicate',
        keptId: kept.id,
      }),
    ),
    ctx.events.make('album.deleted', caller.ownerId, input.id, { id: input.id }),
  ])
  return {
    id: input.id,
    merged: merges.map(({ dropped, kept }) => ({ id: dropped.id, keptId: kept.id })),
  }
}

/** Which of two photos with the same bytes has more claim to stay: listed, pending, trashed. */
function standing(photo: PhotoRecord): number {
  if (photo.deletedAt) return 0
  return photo.pending ? 1 : 2
}
