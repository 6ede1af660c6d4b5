import { createHash } from 'node:crypto'
import { DarkroomError, isDarkroomError, type Violation } from '../../errors.js'
import { originalKey, variantKey } from '../../domain/blob-keys.js'
import { sanitizeFilename, toPhoto } from '../../domain/photo.js'
import type { AlbumRecord, Caller, Photo, PhotoRecord, StoredVariant } from '../../domain/types.js'
import { requireScope } from '../../internal/access.js'
import { isLocalFile, type FileData } from '../../internal/bytes.js'
import { mapLimit } from '../../internal/limit.js'
import type { ServiceContext } from '../context.js'
import { admit } from './admit.js'
import { assertRoom, capExceeded } from './room.js'
import { deleteBlobsQuietly, loadOwnAlbum } from './shared.js'
import {
  prepareVideo,
  readUploadBody,
  type PreparedMedia,
  type UploadBody,
} from './video-ingest.js'

/**
 * Ingest, crash-safe by construction:
 * 1. read the bytes (bounded by the size limit), hash them, skip a duplicate (or restore it
 *    from the trash);
 * 2. probe the header (type from the bytes, pixel limit before any decode), read EXIF, render
 *    every variant from one decode;
 * 3. write the original and the variants to the blob store (durable when `put` resolves);
 * 4. `admit`: in one transaction, with the album and owner locked, check photoCap and quota and
 *    insert the row. Only now is the photo visible.
 * A failure before 4 deletes the blobs of that file; a crash before 4 leaves blobs that no row
 * references, which `maintenance.sweepOrphans` removes. A row never points at missing bytes.
 * Video (when enabled) takes the same steps from a file instead of a Buffer, with ffprobe for
 * step 2 and a poster frame rendered like a photo: see `video-ingest.ts`.
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

export interface UploadedFile extends Photo {
  /** Index of the file in the batch. */
  index: number
  /** True when these bytes were in the trash and the upload restored them. */
  restored: boolean
}

export interface UploadResult {
  uploaded: UploadedFile[]
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

  // Early refusal of a batch that cannot fit, by the rule `admit` applies (authoritatively) to
  // each file in its transaction.
  const knownBytes = files.reduce(
    (sum, f) =>
      sum +
      (f.data instanceof Uint8Array
        ? f.data.byteLength
        : isLocalFile(f.data)
          ? (f.data.size ?? 0)
          : 0),
    0,
  )
  const room = { ownerId: caller.ownerId, album, addPhotos: files.length, addBytes: knownBytes }
  await assertRoom(ctx, ctx.store, { ...room, lock: false })

  let profileSet = false
  // Twice `concurrency` files in flight: image work is bounded by `ctx.cpu` (at `concurrency`),
  // and the extra files render while others hash, fsync their blobs or write their rows, so the
  // cores never wait for the disk (or S3). Rows are still inserted in file order.
  const order = fileOrder(files.length)
  const outcomes = await mapLimit(files, ctx.config.concurrency * 2, async (file, index) => {
    let outcome: Outcome
    try {
      outcome = await ingestOne(ctx, caller, input, album, file, index, () => order.turn(index))
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

  const uploaded: UploadedFile[] = []
  const skipped: SkippedFile[] = []
  const errors: unknown[] = []
  for (const outcome of outcomes) {
    if ('photo' in outcome) {
      uploaded.push({
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
    uploaded.map((p) =>
      ctx.events.make(p.restored ? 'photo.updated' : 'photo.uploaded', caller.ownerId, p.id, {
        photo: p,
      }),
    ),
  )

  if (uploaded.length === 0) {
    // Nothing stored: a batch where every file broke a rule is a validation failure, one where
    // the storage failed is that failure. A batch of duplicates is not an error.
    if (errors.length > 0 && errors.length === skipped.length) throw errors[0]
    if (skipped.length > 0 && skipped.every((s) => VALIDATION_REASONS.has(s.reason))) {
      const violations: Violation[] = skipped.map((s) => ({
        property: files.length === 1 ? 'file' : `files[${s.index}]`,
        message: s.message,
        reason: s.reason,
      }))
      const payloadOnly = skipped.every((s) => s.reason === 'too_large')
      throw new DarkroomError(
        payloadOnly && files.length === 1 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION',
        violations.map((v) => v.message).join(' '),
        { violations },
      )
    }
  }
  return { uploaded, skipped }
}

type Outcome =
  | { index: number; photo: PhotoRecord; restored: boolean }
  | { index: number; skipped: SkippedFile; error?: unknown }

/**
 * Lets each file of a batch insert its row only after every earlier file has inserted or given
 * up, so the album gets the batch in the order it was sent, whichever render finishes first.
 * Files start in order (mapLimit), so a file only ever waits for files already under way.
 */
function fileOrder(count: number) {
  const finish: Array<() => void> = []
  const finished = Array.from(
    { length: count },
    (_, i) => new Promise<void>((resolve) => (finish[i] = resolve)),
  )
  return {
    turn: (index: number): Promise<void> =>
      index === 0 ? Promise.resolve() : finished[index - 1]!,
    done: (index: number): void => finish[index]!(),
  }
}

async function ingestOne(
  ctx: ServiceContext,
  caller: Caller,
  input: UploadInput,
  album: AlbumRecord | null,
  file: UploadFile,
  index: number,
  turn: () => Promise<void>,
): Promise<Outcome> {
  const filename = sanitizeFilename(String(file.filename ?? ''))
  const skip = (
    reason: SkipReason,
    message: string,
    extra: Partial<SkippedFile> = {},
  ): Outcome => ({
    index,
    skipped: { index, filename, reason, message, ...extra },
  })

  // An image arrives as a Buffer; a video (when enabled) as a file, never read into memory.
  let body: UploadBody
  try {
    body = await readUploadBody(ctx, file.data)
  } catch (error) {
    if (isDarkroomError(error) && error.code === 'PAYLOAD_TOO_LARGE') {
      return skip('too_large', error.message)
    }
    throw error
  }
  try {
    return await ingestBody(ctx, caller, input, album, body, index, filename, skip, turn)
  } finally {
    if (body.kind === 'video') await body.video.dispose()
  }
}

async function ingestBody(
  ctx: ServiceContext,
  caller: Caller,
  input: UploadInput,
  album: AlbumRecord | null,
  body: UploadBody,
  index: number,
  filename: string,
  skip: (reason: SkipReason, message: string) => Outcome,
  turn: () => Promise<void>,
): Promise<Outcome> {
  const data = body.kind === 'image' ? body.data : null
  const size = body.kind === 'image' ? body.data.byteLength : body.video.size
  if (size === 0) return skip('corrupt', 'The file is empty.')

  const checksum =
    body.kind === 'image'
      ? createHash('sha256').update(body.data).digest('hex')
      : body.video.checksum
  const albumId = album?.id ?? null
  const existing = await ctx.store.findPhotoByChecksum(caller.ownerId, albumId, checksum)
  if (existing) return duplicateOf(ctx, caller, album, existing, index, filename)

  let probe = null
  if (data) {
    try {
      probe = await ctx.media.probeImage(data, {
        maxInputPixels: ctx.config.limits.maxInputPixels,
        allowedMimeTypes: ctx.config.allowedMimeTypes,
      })
    } catch (error) {
      const violation = isDarkroomError(error) ? error.violations[0] : undefined
      if (violation) return skip((violation.reason as SkipReason) ?? 'corrupt', violation.message)
      throw error
    }
  }

  const id = ctx.ids.newId()
  const written: string[] = []
  try {
    let media: PreparedMedia
    if (data && probe) {
      const imageProbe = probe
      const [facts, rendered] = await ctx.cpu.run(() =>
        Promise.all([
          ctx.media.readExif(data),
          ctx.media.renderImage(data, imageProbe, {
            presets: ctx.config.variants.presets,
            format: ctx.config.variants.format,
            quality: ctx.config.variants.quality,
            watermark: ctx.config.watermark,
            heifDecoder: ctx.heifDecoder,
            scratchSpace: ctx.scratchSpace,
          }),
        ]),
      )
      media = {
        mimeType: imageProbe.mimeType,
        kind: 'image',
        width: imageProbe.width,
        height: imageProbe.height,
        orientation: imageProbe.orientation,
        takenAt: facts.takenAt,
        exif: facts.exif,
        hue: rendered.hue,
        thumbhash: rendered.thumbhash,
        durationSec: null,
        variants: rendered.variants,
        original: () => data,
      }
    } else if (body.kind === 'video') {
      media = await prepareVideo(ctx, body.video)
    } else {
      throw new Error('unreachable: an image body without a probe')
    }
    const variants: StoredVariant[] = media.variants.map((v) => ({
      name: v.name,
      key: variantKey(id, v.name, v.format === 'jpeg' ? 'jpg' : v.format),
      format: v.format,
      mimeType: v.mimeType,
      width: v.width,
      height: v.height,
      size: v.data.byteLength,
    }))
    const key = originalKey(id)
    written.push(key, ...variants.map((v) => v.key))
    await Promise.all([
      ctx.blobs.put(key, media.original(), { contentType: media.mimeType }),
      ...media.variants.map((v, i) =>
        ctx.blobs.put(variants[i]!.key, v.data, { contentType: v.mimeType }),
      ),
    ])

    const now = ctx.clock.now()
    const record: PhotoRecord = {
      id,
      ownerId: caller.ownerId,
      albumId,
      category: input.category ?? null,
      filename,
      description: input.description ?? '',
      mimeType: media.mimeType,
      kind: media.kind,
      size,
      width: media.width,
      height: media.height,
      orientation: media.orientation,
      takenAt: media.takenAt,
      exif: media.exif,
      hue: media.hue,
      thumbhash: media.thumbhash,
      checksum,
      isPublic: input.isPublic ?? false,
      hidden: false,
      pending: input.pending ?? false,
      deletedAt: null,
      position: '',
      postId: input.postId ?? null,
      originalKey: key,
      variants,
      durationSec: media.durationSec,
      createdAt: now,
      updatedAt: now,
      views: 0,
      downloads: 0,
      likes: 0,
      ratingSum: 0,
      ratingCount: 0,
      commentCount: 0,
    }
    await turn()
    const photo = await admit(ctx, { caller, kind: 'insert', record })
    return { index, photo, restored: false }
  } catch (error) {
    await deleteBlobsQuietly(ctx, written)
    if (isDarkroomError(error)) {
      if (error.code === 'CAP_EXCEEDED') {
        const reason = error.cap?.name === 'quotaBytes' ? 'quota_exceeded' : 'cap_exceeded'
        return { ...skip(reason, error.message), error }
      }
      if (error.code === 'CONFLICT') {
        // Another file of this or a concurrent batch with the same bytes won the race.
        const winner = await ctx.store.findPhotoByChecksum(caller.ownerId, albumId, checksum)
        if (winner) return duplicateOf(ctx, caller, album, winner, index, filename)
      }
      const violation = error.violations[0]
      if (error.code === 'VALIDATION' && violation) {
        return skip((violation.reason as SkipReason) ?? 'corrupt', violation.message)
      }
      if (error.code === 'NOT_FOUND') throw error
    }
    ctx.logger.error({ err: error, filename, index }, 'ingest failed')
    return { ...skip('error', 'The file could not be stored; nothing was kept. Try again.'), error }
  }
}

/** A duplicate is skipped, except one in the trash: the upload restores it. */
async function duplicateOf(
  ctx: ServiceContext,
  caller: Caller,
  album: AlbumRecord | null,
  existing: PhotoRecord,
  index: number,
  filename: string,
): Promise<Outcome> {
  if (existing.deletedAt !== null) {
    try {
      const restored = await admit(ctx, { caller, kind: 'restore', photoId: existing.id })
      return { index, photo: restored, restored: true }
    } catch (error) {
      if (isDarkroomError(error) && error.code === 'CAP_EXCEEDED') {
        return {
          index,
          skipped: { index, filename, reason: 'cap_exceeded', message: error.message },
          error,
        }
      }
      throw error
    }
  }
  return {
    index,
    skipped: {
      index,
      filename,
      reason: 'duplicate',
      message: `The same file is already stored as photo ${existing.id}.`,
      existingId: existing.id,
    },
  }
}
