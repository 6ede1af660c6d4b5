import { isDarkroomError, type Violation } from '../../../errors.js'
import { NO_COUNTS, sanitizeFilename } from '../../../domain/photo.js'
import type { AlbumRecord, Caller, PhotoRecord } from '../../../domain/types.js'
import type { ImageProbe } from '../../../media/probe-image.js'
import type { ServiceContext } from '../../context.js'
import { admit } from '../admit.js'
import { deleteBlobsQuietly } from '../shared.js'
import type { SkipReason, SkippedFile, UploadFile, UploadInput } from '../upload.js'
import { prepareImage, probeImageBody } from './prepare-image.js'
import { prepareVideo } from './prepare-video.js'
import type { PreparedMedia } from './prepared-media.js'
import { readBody, type Body } from './read-body.js'
import { planBlobs, storeBlobs, type BlobPlan } from './store-blobs.js'

/**
 * Ingest of one file, one step per module, crash-safe by construction:
 *
 *   identify (one sniff) → read or spool → prepare (image or video) → store blobs → admit
 *
 * 1. `readBody`: the bytes are read (bounded by the size limit of the type found), hashed as they
 *    come, and identified once; an image is held in memory, a video lies in a file. A duplicate
 *    (same bytes in the same album) is skipped here, or restored when it is in the trash.
 * 2. `prepareImage` / `prepareVideo`: the header is probed (type from step 1, pixel limit before
 *    any decode), EXIF read, every variant rendered from one decode (a video's from its poster).
 * 3. `storeBlobs`: the original and the variants go to the blob store; durable when it resolves.
 * 4. `admit`: in one transaction, with the album and the owner locked, photoCap and quota are
 *    checked and the row inserted at the end of the album. Only now is the photo visible.
 * Emitting the events is the batch's job (`upload.ts`), once every file is through.
 *
 * Why nothing is ever half-visible: blobs are durable before the row that points at them
 * exists. A failure before step 4 deletes every blob of that file; a crash before step 4 leaves
 * only blobs that no row references, which `maintenance.sweepOrphans` removes. A row never points
 * at missing bytes, and a file that fails leaves nothing behind but a skip with its reason.
 */

/** One file of a batch, and what the batch knows about it. */
export interface IngestJob {
  caller: Caller
  input: UploadInput
  /** The batch's album, checked to be the caller's; null: outside any album. */
  album: AlbumRecord | null
  file: UploadFile
  /** Its place in the batch. */
  index: number
  /**
   * Resolves once every earlier file of the batch has been admitted or given up, with the
   * photo's `createdAt`: later than every earlier file's, so that the batch's "uploaded" order
   * is its file order whichever file finished rendering first.
   */
  turn(): Promise<Date>
}

export type Outcome = Admitted | Skipped
type Admitted = { index: number; photo: PhotoRecord; restored: boolean }
type Skipped = { index: number; skipped: SkippedFile; error?: unknown }

/** A job whose bytes are read. */
interface BodyJob extends IngestJob {
  filename: string
  body: Body
}

/**
 * Runs one file through the pipeline. A file that breaks a rule, or that the storage fails to
 * take, becomes a skip with its reason (and the error, for the batch to report); only a missing
 * album or an error outside the pipeline's steps rejects.
 */
export async function ingestFile(ctx: ServiceContext, job: IngestJob): Promise<Outcome> {
  const filename = sanitizeFilename(String(job.file.filename ?? ''))
  let body: Body
  try {
    body = await readBody(ctx, job.file.data)
  } catch (error) {
    if (isDarkroomError(error) && error.code === 'PAYLOAD_TOO_LARGE') {
      return skip({ ...job, filename }, { reason: 'too_large', message: error.message })
    }
    throw error
  }
  try {
    return await ingestBody(ctx, { ...job, filename, body })
  } finally {
    if (body.kind === 'video') await body.dispose()
  }
}

async function ingestBody(ctx: ServiceContext, job: BodyJob): Promise<Outcome> {
  const { body, caller } = job
  if (body.size === 0) return skip(job, { reason: 'corrupt', message: 'The file is empty.' })
  const albumId = job.album?.id ?? null
  const existing = await ctx.store.findPhotoByChecksum(caller.ownerId, albumId, body.checksum)
  if (existing) return duplicateOf(ctx, job, existing)

  let prepare: () => Promise<PreparedMedia>
  if (body.kind === 'image') {
    // The header first, outside the clean-up below: a refused image never had an id or a blob.
    let probe: ImageProbe
    try {
      probe = await probeImageBody(ctx, body)
    } catch (error) {
      const violation = isDarkroomError(error) ? error.violations[0] : undefined
      if (violation) return refused(job, violation)
      throw error
    }
    prepare = () => prepareImage(ctx, { body, probe })
  } else {
    prepare = () => prepareVideo(ctx, body)
  }

  const id = ctx.ids.newId()
  let plan: BlobPlan | null = null
  try {
    const media = await prepare()
    plan = planBlobs(id, media)
    await storeBlobs(ctx, { plan, media })
    const createdAt = await job.turn()
    const record = newRecord(ctx, { job, id, media, plan, createdAt })
    const photo = await admit(ctx, { caller, kind: 'insert', record })
    return { index: job.index, photo, restored: false }
  } catch (error) {
    if (plan) await deleteBlobsQuietly(ctx, plan.keys)
    return failed(ctx, job, error)
  }
}

/**
 * A duplicate is skipped, except one in the trash: the upload restores it. An anonymous caller
 * shares its owner with strangers: its skip names no photo, and nothing is restored for it (the
 * owner's trashed photo stays where the owner put it).
 */
async function duplicateOf(
  ctx: ServiceContext,
  job: BodyJob,
  existing: PhotoRecord,
): Promise<Outcome> {
  if (job.caller.anonymous) {
    return skip(job, { reason: 'duplicate', message: 'The same file is already stored.' })
  }
  if (existing.deletedAt === null) {
    const message = `The same file is already stored as photo ${existing.id}.`
    return skip(job, { reason: 'duplicate', message, existingId: existing.id })
  }
  try {
    const restored = await admit(ctx, { caller: job.caller, kind: 'restore', photoId: existing.id })
    return { index: job.index, photo: restored, restored: true }
  } catch (error) {
    if (isDarkroomError(error) && error.code === 'CAP_EXCEEDED') {
      return { ...skip(job, { reason: 'cap_exceeded', message: error.message }), error }
    }
    throw error
  }
}

/** What a failure after the probe means for the file; its blobs are deleted already. */
async function failed(ctx: ServiceContext, job: BodyJob, error: unknown): Promise<Outcome> {
  if (isDarkroomError(error)) {
    if (error.code === 'CAP_EXCEEDED') {
      const reason = error.cap?.name === 'quotaBytes' ? 'quota_exceeded' : 'cap_exceeded'
      return { ...skip(job, { reason, message: error.message }), error }
    }
    if (error.code === 'CONFLICT') {
      // Another file of this or a concurrent batch with the same bytes won the race.
      const albumId = job.album?.id ?? null
      const { ownerId } = job.caller
      const winner = await ctx.store.findPhotoByChecksum(ownerId, albumId, job.body.checksum)
      if (winner) return duplicateOf(ctx, job, winner)
    }
    const violation = error.violations[0]
    if (error.code === 'VALIDATION' && violation) return refused(job, violation)
    if (error.code === 'NOT_FOUND') throw error
  }
  ctx.logger.error({ err: error, filename: job.filename, index: job.index }, 'ingest failed')
  const message = 'The file could not be stored; nothing was kept. Try again.'
  return { ...skip(job, { reason: 'error', message }), error }
}

/** The row of a new photo, placed by `admit`. */
function newRecord(
  ctx: ServiceContext,
  parts: { job: BodyJob; id: string; media: PreparedMedia; plan: BlobPlan; createdAt: Date },
): PhotoRecord {
  const { job, id, media, plan, createdAt } = parts
  const { input } = job
  return {
    id,
    ownerId: job.caller.ownerId,
    albumId: job.album?.id ?? null,
    category: input.category ?? null,
    filename: job.filename,
    description: input.description ?? '',
    mimeType: media.mimeType,
    kind: media.kind,
    size: job.body.size,
    width: media.width,
    height: media.height,
    orientation: media.orientation,
    manualDimensions: false,
    takenAt: media.takenAt,
    exif: media.exif,
    hue: media.hue,
    thumbhash: media.thumbhash,
    checksum: job.body.checksum,
    isPublic: input.isPublic ?? false,
    hidden: false,
    pending: input.pending ?? false,
    deletedAt: null,
    position: '',
    postId: input.postId ?? null,
    originalKey: plan.originalKey,
    variants: plan.variants,
    durationSec: media.durationSec,
    createdAt,
    updatedAt: createdAt,
    ...NO_COUNTS,
  }
}

function skip(
  job: { index: number; filename: string },
  why: Pick<SkippedFile, 'reason' | 'message' | 'existingId'>,
): Skipped {
  const { index, filename } = job
  return { index, skipped: { index, filename, ...why } }
}

/** A file that broke a rule: skipped with the violation's reason and message. */
function refused(job: { index: number; filename: string }, violation: Violation): Skipped {
  return skip(job, {
    reason: (violation.reason as SkipReason | undefined) ?? 'corrupt',
    message: violation.message,
  })
}
