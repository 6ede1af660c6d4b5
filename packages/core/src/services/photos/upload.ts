import { DarkroomError, type Violation } from '../../errors.js'
import { toPhoto } from '../../domain/photo.js'
import type { AlbumRecord, Caller, Photo, PhotoReceipt } from '../../domain/types.js'
import { photoAnswerFor, requireScope } from '../../internal/access.js'
import { isLocalFile, type FileData } from '../../internal/bytes.js'
import type { Clock } from '../../ports/clock.js'
import { mapLimit } from '../../internal/limit.js'
import type { ServiceContext } from '../context.js'
import { ingestFile, type Outcome } from './ingest/pipeline.js'
import { assertRoom, capExceeded } from './room.js'
import { loadOwnAlbum } from './shared.js'

/**
 * `photos.upload`: a batch of files, each through the ingest pipeline (`ingest/pipeline.ts`,
 * where the crash-safety argument lives), then one event per photo. The batch is checked whole
 * first (size of the batch, album, an early cap and quota refusal by the same rule `admit`
 * applies), runs `concurrency * 2` files at a time, and keeps its file order in the album and
 * in `createdAt` (see `fileOrder`).
 */

export interface UploadFile {
  filename: string
  data: FileData
}

export interface UploadInput {
  files: readonly UploadFile[]
  albumId?: string | null
  category?: string | null
  description?: string
  isPublic?: boolean
  /** Stored but not listed until published; purged after `pending.ttlMs`. */
  pending?: boolean
  /** Makes the (first) uploaded photo the owner's profile picture. */
  setProfilePicture?: boolean
  /** Attaches the photos to an external post id (seed 000). */
  postId?: string | null
}

export type SkipReason =
  | 'duplicate'
  | 'invalid_type'
  | 'too_large'
  | 'too_many_pixels'
  | 'corrupt'
  | 'unsupported_compression'
  | 'cap_exceeded'
  | 'quota_exceeded'
  | 'error'

export interface SkippedFile {
  /** Index of the file in the batch. */
  index: number
  filename: string
  reason: SkipReason
  message: string
  /** For a duplicate: the photo that already holds these bytes. */
  existingId?: string
}

/** Where a stored file was in the batch, and whether the upload took its bytes out of the trash. */
export interface UploadedPlace {
  /** Index of the file in the batch. */
  index: number
  /** True when these bytes were in the trash and the upload restored them. */
  restored: boolean
}

export type UploadedFile = Photo & UploadedPlace

/** An upload's answer to a caller without `photos.read`: no photo data (see `PhotoReceipt`). */
export type UploadedReceipt = PhotoReceipt & UploadedPlace

export interface UploadResult {
  /** The stored photos; receipts when the caller may not read photos (`photoAnswerFor`). */
  uploaded: (UploadedFile | UploadedReceipt)[]
  skipped: SkippedFile[]
}

const VALIDATION_REASONS = new Set<SkipReason>([
  'invalid_type',
  'too_large',
  'too_many_pixels',
  'corrupt',
  'unsupported_compression',
])

export async function upload(
  ctx: ServiceContext,
  caller: Caller,
  input: UploadInput,
): Promise<UploadResult> {
  requireScope(caller, 'photos.write')
  const album = await checkBatch(ctx, caller, input)
  const { files } = input
  let profileSet = false
  // Twice `concurrency` files in flight: image work is bounded by `ctx.cpu` (at `concurrency`),
  // and the extra files render while others hash, fsync their blobs or write their rows, so the
  // cores never wait for the disk (or S3). Rows are still inserted in file order.
  const order = fileOrder(files.length, ctx.clock)
  const outcomes = await mapLimit(files, ctx.config.concurrency * 2, async (file, index) => {
    let outcome: Outcome
    try {
      const turn = () => order.turn(index)
      outcome = await ingestFile(ctx, { caller, input, album, file, index, turn })
    } finally {
      order.done(index)
    }
    if ('photo' in outcome && input.setProfilePicture && !profileSet && !outcome.photo.pending) {
      profileSet = true
      const owner = await ctx.store.getOwner(caller.ownerId)
      await ctx.store.upsertOwner({
        ownerId: caller.ownerId,
        quotaBytes: owner?.quotaBytes ?? null,
        profilePhotoId: outcome.photo.id,
      })
    }
    return outcome
  })
  return finish(ctx, { caller, files, outcomes })
}

/**
 * Refuses a batch that is empty, too large, aimed at an album that is not the caller's, or that
 * cannot fit: an early refusal before any byte is read, by the rule `admit` applies file by file
 * in its transaction (where it is authoritative). Returns the album.
 */
async function checkBatch(
  ctx: ServiceContext,
  caller: Caller,
  input: UploadInput,
): Promise<AlbumRecord | null> {
  const files = input.files
  if (!Array.isArray(files) || files.length === 0) {
    throw DarkroomError.validation([
      { property: 'files', message: 'At least one file is required.' },
    ])
  }
  const maxFiles = ctx.config.limits.maxFilesPerBatch
  if (files.length > maxFiles) {
    throw capExceeded({
      name: 'maxFilesPerBatch',
      limit: maxFiles,
      current: 0,
      requested: files.length,
      subject: 'this batch',
    })
  }
  const albumId = input.albumId ?? null
  const album = albumId === null ? null : await loadOwnAlbum(ctx.store, caller, albumId)
  const knownBytes = files.reduce((sum, f) => sum + knownSize(f.data), 0)
  const room = { ownerId: caller.ownerId, album, addPhotos: files.length, addBytes: knownBytes }
  await assertRoom(ctx, ctx.store, { ...room, lock: false })
  return album
}

/** The size of a file's bytes when it is known before reading them; 0 otherwise. */
function knownSize(data: FileData): number {
  if (data instanceof Uint8Array) return data.byteLength
  return isLocalFile(data) ? (data.size ?? 0) : 0
}

/**
 * The batch's result in file order, its events, and the batch-level error when nothing was
 * stored: a batch where every file broke a rule is a validation failure, one where the storage
 * failed is that failure. A batch of duplicates is not an error.
 */
async function finish(
  ctx: ServiceContext,
  batch: { caller: Caller; files: readonly UploadFile[]; outcomes: Outcome[] },
): Promise<UploadResult> {
  const { caller, files, outcomes } = batch
  const stored: UploadedFile[] = []
  const skipped: SkippedFile[] = []
  const errors: unknown[] = []
  for (const outcome of outcomes) {
    if ('photo' in outcome) {
      stored.push({
        ...toPhoto(outcome.photo, ctx.config),
        index: outcome.index,
        restored: outcome.restored,
      })
    } else {
      skipped.push(outcome.skipped)
      if (outcome.error !== undefined) errors.push(outcome.error)
    }
  }
  await ctx.events.emit(
    stored.map((p) =>
      ctx.events.make(p.restored ? 'photo.updated' : 'photo.uploaded', caller.ownerId, p.id, {
        photo: p,
      }),
    ),
  )
  const uploaded = stored.map(({ index, restored, ...photo }) => ({
    ...photoAnswerFor(caller, photo),
    index,
    restored,
  }))
  if (uploaded.length === 0) {
    if (errors.length > 0 && errors.length === skipped.length) throw errors[0]
    if (skipped.length > 0 && skipped.every((s) => VALIDATION_REASONS.has(s.reason))) {
      throw refusalOf(skipped, files.length)
    }
  }
  return { uploaded, skipped }
}

/** Every file refused for a rule: one error listing each, `PAYLOAD_TOO_LARGE` for a lone file. */
function refusalOf(skipped: readonly SkippedFile[], fileCount: number): DarkroomError {
  const violations: Violation[] = skipped.map((s) => ({
    property: fileCount === 1 ? 'file' : `files[${s.index}]`,
    message: s.message,
    reason: s.reason,
  }))
  const payloadOnly = skipped.every((s) => s.reason === 'too_large')
  return new DarkroomError(
    payloadOnly && fileCount === 1 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION',
    violations.map((v) => v.message).join(' '),
    { violations },
  )
}

/**
 * Lets each file of a batch insert its row only after every earlier file has inserted or given
 * up, so the album gets the batch in the order it was sent, whichever render finishes first.
 * Files start in order (mapLimit), so a file only ever waits for files already under way.
 *
 * Each turn also hands out the photo's `createdAt`: the time of its admission, and at least a
 * millisecond after the previous file's, so that `createdAt` (and the default `uploaded` sort)
 * follows the file order too, even when files are admitted within one millisecond or the clock
 * stands still. Turns are taken one after the other, so the stamps are too.
 */
function fileOrder(count: number, clock: Clock) {
  const finish: Array<() => void> = []
  const finished = Array.from(
    { length: count },
    (_, i) => new Promise<void>((resolve) => (finish[i] = resolve)),
  )
  let last = Number.NEGATIVE_INFINITY
  const stamp = (): Date => {
    last = Math.max(clock.now().getTime(), last + 1)
    return new Date(last)
  }
  return {
    turn: async (index: number): Promise<Date> => {
      if (index > 0) await finished[index - 1]!
      return stamp()
    },
    done: (index: number): void => finish[index]!(),
  }
}
