import { randomBytes, randomUUID } from 'node:crypto'
import { NO_COUNTS } from '../domain/photo.js'
import type { AlbumRecord, CommentRecord, OwnerRecord, PhotoRecord } from '../domain/types.js'

/**
 * Records for tests: every field filled with a plausible value, ids and checksums unique per
 * call so that tests never collide, timestamps fixed so that results are deterministic.
 */
export const BUILDER_EPOCH = new Date('2024-01-01T00:00:00.000Z')

export function makePhotoRecord(overrides: Partial<PhotoRecord> = {}): PhotoRecord {
  const id = overrides.id ?? randomUUID()
  return {
    id,
    ownerId: 'owner-1',
    albumId: null,
    category: null,
    filename: 'photo.jpg',
    description: '',
    mimeType: 'image/jpeg',
    kind: 'image',
    size: 1024,
    width: 640,
    height: 480,
    orientation: 1,
    manualDimensions: false,
    takenAt: null,
    exif: null,
    hue: null,
    thumbhash: null,
    checksum: randomBytes(32).toString('hex'),
    isPublic: false,
    hidden: false,
    pending: false,
    deletedAt: null,
    position: 'a0',
    postId: null,
    originalKey: `photos/${id}/original`,
    variants: [],
    durationSec: null,
    createdAt: new Date(BUILDER_EPOCH),
    updatedAt: new Date(BUILDER_EPOCH),
    ...NO_COUNTS,
    ...overrides,
  }
}

export function makeAlbumRecord(overrides: Partial<AlbumRecord> = {}): AlbumRecord {
  return {
    id: randomUUID(),
    ownerId: 'owner-1',
    title: 'Album',
    description: '',
    photoCap: null,
    coverPhotoId: null,
    createdAt: new Date(BUILDER_EPOCH),
    updatedAt: new Date(BUILDER_EPOCH),
    ...overrides,
  }
}

export function makeOwnerRecord(overrides: Partial<OwnerRecord> = {}): OwnerRecord {
  return { ownerId: randomUUID(), quotaBytes: null, profilePhotoId: null, ...overrides }
}

export function makeCommentRecord(overrides: Partial<CommentRecord> = {}): CommentRecord {
  return {
    id: randomUUID(),
    photoId: randomUUID(),
    authorId: 'user-1',
    body: 'Nice.',
    createdAt: new Date(BUILDER_EPOCH),
    ...overrides,
  }
}

/**
 * The photo a write answered, for tests whose caller may read photos: a `PhotoReceipt` (the
 * answer to a caller without `photos.read`) throws, so a test cannot pass on a receipt.
 */
export function asPhoto<T extends object>(answer: T): Exclude<T, { withheld: true }> {
  if ((answer as { withheld?: unknown }).withheld === true) {
    throw new Error(`expected a photo, got a receipt: ${JSON.stringify(answer)}`)
  }
  return answer as Exclude<T, { withheld: true }>
}

/** The stored photos of an upload's answer, each through `asPhoto`. */
export function photosOf<T extends object>(result: {
  uploaded: readonly T[]
}): Exclude<T, { withheld: true }>[] {
  return result.uploaded.map(asPhoto)
}
