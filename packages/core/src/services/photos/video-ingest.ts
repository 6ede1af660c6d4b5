import { createHash } from 'node:crypto'
import { ReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import type { DarkroomConfig } from '../../config.js'
import type { PhotoExif, PhotoKind } from '../../domain/types.js'
import { DarkroomError } from '../../errors.js'
import { isLocalFile, readAll, tooLargeMessage, type FileData } from '../../internal/bytes.js'
import type { RenderedVariant } from '../../media/render-image.js'
import { SNIFF_BYTES, sniffMimeType } from '../../media/sniff-mime-type.js'
import { tooManyPixelsError } from '../../media/image-violations.js'
import type { BlobBody } from '../../ports/blob-store.js'
import type { ScratchSpace } from '../../ports/scratch-space.js'
import type { ServiceContext } from '../context.js'

/**
 * Video ingest, beside the image path and never in its way.
 *
 * An image is read into one Buffer (bounded by `limits.maxFileBytes`) exactly as before; with
 * video disabled nothing else happens. With video enabled the first bytes are sniffed first: a
 * video (MP4, WebM, MOV, AVI) is never read into memory. ffprobe and ffmpeg need a file, so:
 * - a file already on disk (an `fs.ReadStream` over a whole file, which is what the tus handler
 *   passes) is used where it is, and hashed by streaming it;
 * - any other stream (a tRPC form part, an S3 object) is spooled to a temp file, hashed on the
 *   way, and stopped at `video.maxFileBytes`;
 * - bytes already in memory are written to a temp file.
 * The original is then stored with a streamed `blobs.put`. The poster frame (ffmpeg, 1 s) goes
 * through the image pipeline: variants, thumbhash and hue, like a photo. Files go through the
 * `ScratchSpace` port, ffprobe and ffmpeg through the `FrameExtractor` port.
 */

export interface VideoFile {
  path: string
  size: number
  /** sha256, hex. */
  checksum: string
  mimeType: string
  /** Removes the temp file, if one was made. */
  dispose(): Promise<void>
}

export type UploadBody = { kind: 'image'; data: Buffer } | { kind: 'video'; video: VideoFile }

/** What an ingest stores besides ids, counters and caller fields. */
export interface PreparedMedia {
  mimeType: string
  kind: PhotoKind
  width: number
  height: number
  orientation: number | null
  takenAt: string | null
  exif: PhotoExif | null
  hue: string
  thumbhash: string
  durationSec: number | null
  variants: RenderedVariant[]
  /** A fresh body for `blobs.put` of the original. */
  original(): BlobBody
}

/** The video types this config accepts: none unless video is enabled. */
export function allowedVideoTypes(config: DarkroomConfig): readonly string[] {
  return config.video.enabled ? config.video.mimeTypes : []
}

/** Every type an upload may have, for refusals that list them. */
export function allowedUploadTypes(config: DarkroomConfig): string[] {
  return [...new Set([...config.allowedMimeTypes, ...allowedVideoTypes(config)])]
}

/**
 * Reads an upload's body: images into memory as before, allowed videos to a file. Throws
 * `PAYLOAD_TOO_LARGE` past the limit of the type found (`limits.maxFileBytes` for anything that
 * is not an allowed video, `video.maxFileBytes` for a video).
 */
export async function readUploadBody(ctx: ServiceContext, input: FileData): Promise<UploadBody> {
  const { config } = ctx
  if (isLocalFile(input) && input.size !== null && input.size > config.limits.maxFileBytes) {
    // Only a video may be larger than the image limit: tell which this is from its first bytes.
    if (allowedVideoTypes(config).length === 0) {
      throw new DarkroomError(
        'PAYLOAD_TOO_LARGE',
        tooLargeMessage(input.size, config.limits.maxFileBytes),
      )
    }
  }
  const data = isLocalFile(input) ? ctx.scratchSpace.read(input.path) : input
  const videoTypes = allowedVideoTypes(config)
  const imageMax = config.limits.maxFileBytes
  if (videoTypes.length === 0) return { kind: 'image', data: await readAll(data, imageMax) }

  if (data instanceof Uint8Array) {
    const mimeType = await sniffVideo(data.subarray(0, SNIFF_BYTES), videoTypes)
    if (!mimeType) return { kind: 'image', data: await readAll(data, imageMax) }
    assertVideoSize(data.byteLength, config)
    return { kind: 'video', video: await spool(ctx, [data], mimeType) }
  }

  const iterator = (data as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
  const destroy = () => {
    if (data instanceof Readable && !data.readableEnded) data.destroy()
  }
  try {
    const head: Uint8Array[] = []
    let headBytes = 0
    let done = false
    while (headBytes < SNIFF_BYTES) {
      const next = await iterator.next()
      if (next.done) {
        done = true
        break
      }
      head.push(next.value)
      headBytes += next.value.byteLength
    }
    const rest = async function* () {
      yield* head
      if (done) return
      for (;;) {
        const next = await iterator.next()
        if (next.done) return
        yield next.value
      }
    }
    const mimeType = await sniffVideo(Buffer.concat(head, headBytes), videoTypes)
    if (!mimeType) return { kind: 'image', data: await readAll(rest(), imageMax) }
    const onDisk = wholeFileOf(data)
    if (onDisk) {
      destroy()
      const size = await ctx.scratchSpace.sizeOf(onDisk)
      assertVideoSize(size, config)
      return {
        kind: 'video',
        video: {
          path: onDisk,
          size,
          checksum: await hashFile(ctx.scratchSpace, onDisk),
          mimeType,
          dispose: async () => {},
        },
      }
    }
    return { kind: 'video', video: await spool(ctx, rest(), mimeType) }
  } finally {
    destroy()
  }
}

/**
 * Probes a video, checks it is whole, extracts and renders its poster. Throws `VALIDATION`
 * (`corrupt`, `too_many_pixels`) for a file that cannot be a photo; ffmpeg's own words stay in
 * the error's `cause`. ffmpeg runs inside the engine's CPU limiter, like image rendering.
 */
export async function prepareVideo(ctx: ServiceContext, video: VideoFile): Promise<PreparedMedia> {
  const { config, frameExtractor } = ctx
  const file = { path: video.path, mimeType: video.mimeType }
  const probe = await frameExtractor.probe(file)
  if (probe.storedWidth * probe.storedHeight > config.limits.maxInputPixels) {
    throw tooManyPixelsError(probe.storedWidth, probe.storedHeight, config.limits.maxInputPixels)
  }
  await frameExtractor.checkIntegrity(file, probe)
  const rendered = await ctx.cpu.run(async () => {
    const poster = await frameExtractor.extractPoster(file, probe)
    const posterProbe = await ctx.media.probeImage(poster.data, {
      maxInputPixels: config.limits.maxInputPixels,
      allowedMimeTypes: ['image/png'],
    })
    return ctx.media.renderImage(poster.data, posterProbe, {
      presets: config.variants.presets,
      format: config.variants.format,
      quality: config.variants.quality,
      watermark: config.watermark,
      heifDecoder: ctx.heifDecoder,
      scratchSpace: ctx.scratchSpace,
    })
  })
  return {
    mimeType: video.mimeType,
    kind: 'video',
    width: probe.width,
    height: probe.height,
    orientation: probe.orientation,
    takenAt: probe.takenAt,
    exif: null,
    hue: rendered.hue,
    thumbhash: rendered.thumbhash,
    durationSec: probe.durationSec,
    variants: rendered.variants,
    original: () => ctx.scratchSpace.read(video.path),
  }
}

async function sniffVideo(head: Uint8Array, videoTypes: readonly string[]) {
  if (head.byteLength === 0) return null
  const sniffed = await sniffMimeType(head)
  return sniffed && videoTypes.includes(sniffed.mimeType) ? sniffed.mimeType : null
}

function assertVideoSize(size: number | null, config: DarkroomConfig): void {
  const max = config.video.maxFileBytes
  if (size === null || size > max) {
    throw new DarkroomError('PAYLOAD_TOO_LARGE', tooLargeMessage(size, max))
  }
}

/** The path of a stream that reads a whole file from its start, or null. */
function wholeFileOf(data: unknown): string | null {
  if (!(data instanceof ReadStream)) return null
  const { path, start, end } = data as ReadStream & { start?: number; end?: number }
  if (typeof path !== 'string') return null
  if ((start ?? 0) !== 0 || (end !== undefined && end !== Infinity)) return null
  return path
}

async function hashFile(scratch: ScratchSpace, path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of scratch.read(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Writes the chunks to a scratch file, hashing and counting; stops past the video limit. */
async function spool(
  ctx: ServiceContext,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  mimeType: string,
): Promise<VideoFile> {
  const hash = createHash('sha256')
  let size = 0
  async function* counted() {
    for await (const chunk of chunks) {
      size += chunk.byteLength
      if (size > ctx.config.video.maxFileBytes) assertVideoSize(null, ctx.config)
      hash.update(chunk)
      yield chunk
    }
  }
  const file = await ctx.scratchSpace.spool(counted())
  return { path: file.path, size, checksum: hash.digest('hex'), mimeType, dispose: file.dispose }
}
