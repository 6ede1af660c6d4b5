import { DarkroomError } from '../../errors.js'
import { renditionExtension } from '../../domain/photo.js'
import { sortValue } from '../../domain/sort.js'
import type { Caller } from '../../domain/types.js'
import { isPubliclyVisible, requireScope } from '../../internal/access.js'
import type { PhotoKeyset } from '../../ports/metadata-store.js'
import type { ServiceContext } from '../context.js'
import { MAX_PAGE_SIZE } from './list.js'

/**
 * What goes into a download of a whole album (the HTTP zip route), listed before a byte is
 * sent so the archive's length and validator are known up front: the entries carry their
 * sizes from the metadata, and the bytes are opened one at a time later through `openBlob`,
 * which checks access again (a photo made private or trashed meanwhile fails the stream
 * rather than leaking).
 *
 * Who sees what, as for the pictures: the album's owner gets every photo in it that is listed
 * (not hidden, pending or trashed); anyone else (another owner, an anonymous caller) gets its
 * public photos only, and an album with none is `NOT_FOUND`, like one that does not exist.
 */

export interface ListArchiveInput {
  albumId: string
  /** `original` (default) or a stored variant (`large`, `medium`, `small`, a watermark preset). */
  variant?: string
}

export interface ArchiveEntry {
  photoId: string
  /** The photo's filename as stored (already sanitized at ingest; not yet a safe zip name). */
  filename: string
  /** Bytes of the rendition: the original's size or the variant's. */
  size: number
  /** The rendition's URL extension (`jpg`, `webp`, ...). */
  extension: string
  /** Strong validator of the rendition: the original's checksum, or the variant's key. */
  tag: string
  createdAt: Date
}

export interface ArchiveListing {
  albumId: string
  title: string
  /** Whether the caller owns the album (and so sees more than its public photos). */
  isOwner: boolean
  variant: string
  /** In the album's own order (`position`); photos without the variant are left out. */
  entries: ArchiveEntry[]
}

/** Rows read per store query while listing an album for an archive. */
const PAGE = MAX_PAGE_SIZE

export async function listArchive(
  ctx: ServiceContext,
  caller: Caller | null,
  input: ListArchiveInput,
): Promise<ArchiveListing> {
  if (caller) requireScope(caller, 'photos.read')
  const variant = input.variant ?? 'original'
  const names = [
    'original',
    ...Object.keys(ctx.config.variants.presets),
    ...Object.keys(ctx.config.watermark?.presets ?? {}),
  ]
  if (!names.includes(variant)) {
    throw DarkroomError.validation([
      { property: 'size', message: `Unknown size "${variant}"; use one of ${names.join(', ')}.` },
    ])
  }
  const album = await ctx.store.getAlbum(input.albumId)
  if (!album) throw DarkroomError.notFound('Album', input.albumId)
  const isOwner = caller !== null && album.ownerId === caller.ownerId

  const entries: ArchiveEntry[] = []
  let after: PhotoKeyset | undefined
  for (;;) {
    const page = await ctx.store.listPhotos({
      ownerId: album.ownerId,
      albumId: album.id,
      hidden: false,
      pending: false,
      trashed: false,
      sort: 'position',
      order: 'asc',
      limit: PAGE,
      count: false,
      ...(after ? { after } : {}),
    })
    for (const photo of page.items) {
      if (!isOwner && !isPubliclyVisible(photo)) continue
      const stored = variant === 'original' ? null : photo.variants.find((v) => v.name === variant)
      if (stored === undefined) continue
      entries.push({
        photoId: photo.id,
        filename: photo.filename,
        size: stored?.size ?? photo.size,
        extension: renditionExtension(photo, stored),
        tag: stored ? stored.key : photo.checksum,
        createdAt: photo.createdAt,
      })
    }
    const last = page.items[page.items.length - 1]
    if (page.items.length < PAGE || !last) break
    after = { value: sortValue(last, 'position'), id: last.id }
  }
  if (!isOwner && entries.length === 0) throw DarkroomError.notFound('Album', input.albumId)
  return { albumId: album.id, title: album.title, isOwner, variant, entries }
}
