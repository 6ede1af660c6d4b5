import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { DarkroomError } from '../../../errors.js'
import {
  isLocalFile,
  readAll,
  tooLargeMessage,
  type FileData,
  type LocalFile,
} from '../../../internal/bytes.js'
import { SNIFF_BYTES } from '../../../media/sniff-mime-type.js'
import type { BlobBody } from '../../../ports/blob-store.js'
import type { ServiceContext } from '../../context.js'
import { ChunkReader } from './chunk-reader.js'
import { allowedVideoTypes, identify, type Identified } from './identify.js'

/**
 * Identify, then read or spool: an upload's bytes become a `Body`, hashed as they are read.
 *
 * - Video off: every file is an image candidate, read into memory up to the image limit
 *   (`limits.maxFileBytes`) and identified once from all its bytes, as the image probe needs
 *   (a TIFF's first IFD may sit past any fixed head).
 * - Video on: the first bytes route the file. An allowed video (its magic numbers are at its
 *   start) is never held in memory: a stream is spooled to a scratch file behind those bytes,
 *   stopped at `video.maxFileBytes`, and a local file is hashed by streaming it and probed where
 *   it is. Anything else goes on as an image candidate; the head's answer stands unless it is
 *   one only the whole file settles (a TIFF, or nothing named), which is then looked at again.
 * A local file larger than the image limit that is not a video is refused without being read.
 * Throws `PAYLOAD_TOO_LARGE` past the limit of the type found.
 */
export type Body = ImageBody | VideoBody

export interface ImageBody {
  kind: 'image'
  /** Identified from all the bytes. */
  mimeType: string
  size: number
  /** sha256, hex. */
  checksum: string
  bytes: Buffer
}

export interface VideoBody {
  kind: 'video'
  mimeType: string
  size: number
  checksum: string
  /** Where the tools read it: the caller's local file, or a scratch copy. */
  path: string
  /** A fresh body for `blobs.put` of the original. */
  original(): BlobBody
  /** Removes the scratch copy, if one was made; never the caller's own file. */
  dispose(): Promise<void>
}

export async function readBody(ctx: ServiceContext, data: FileData): Promise<Body> {
  if (isLocalFile(data)) return fromLocalFile(ctx, data)
  if (data instanceof Uint8Array) {
    const bytes = Buffer.isBuffer(data)
      ? data
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    const checksum = () => createHash('sha256').update(bytes).digest('hex')
    return fromMemory(ctx, { bytes, checksum, local: null, streamed: false })
  }
  return fromStream(ctx, { stream: data, local: null })
}

async function fromLocalFile(ctx: ServiceContext, file: LocalFile): Promise<Body> {
  const { config, scratchSpace } = ctx
  const imageMax = config.limits.maxFileBytes
  if (allowedVideoTypes(config).length === 0) {
    if (file.size !== null && file.size > imageMax) throw tooLarge(file.size, imageMax)
    return fromStream(ctx, { stream: scratchSpace.read(file.path), local: file })
  }
  const size = await scratchSpace.sizeOf(file.path)
  const head = await readAll(scratchSpace.read(file.path, { end: SNIFF_BYTES }), SNIFF_BYTES)
  const routed = await identify(config, head)
  if (routed.route === 'video') return localVideo(ctx, { path: file.path, size }, routed.mimeType)
  if (size > imageMax) throw tooLarge(null, imageMax)
  return fromStream(ctx, { stream: scratchSpace.read(file.path), local: file, routed })
}

async function fromStream(
  ctx: ServiceContext,
  source: {
    stream: Readable | AsyncIterable<Uint8Array>
    local: LocalFile | null
    /** What a look at its first bytes found already (a local file's head), if any. */
    routed?: Identified
  },
): Promise<Body> {
  const { config } = ctx
  const imageMax = config.limits.maxFileBytes
  const reader = new ChunkReader(source.stream)
  try {
    let routed = source.routed
    if (allowedVideoTypes(config).length > 0 && !routed) {
      await reader.fill(SNIFF_BYTES)
      routed = await identify(config, reader.head(SNIFF_BYTES))
      if (routed.route === 'video') return await spoolVideo(ctx, reader, routed.mimeType)
    }
    if (!(await reader.fill(imageMax))) throw tooLarge(null, imageMax)
    const held = {
      bytes: reader.bytes(),
      checksum: () => reader.digest(),
      local: source.local,
      streamed: !source.local,
      // A type the first bytes settled is not looked for again in the whole file.
      identified: routed?.definitive ? routed : undefined,
    }
    return await fromMemory(ctx, held)
  } finally {
    reader.close()
  }
}

/** A streamed video: the bytes read so far, then the rest, into a scratch file. */
async function spoolVideo(ctx: ServiceContext, reader: ChunkReader, mimeType: string) {
  const file = await ctx.scratchSpace.spool(reader.drain(ctx.config.video.maxFileBytes))
  return {
    kind: 'video' as const,
    mimeType,
    size: file.size,
    checksum: reader.digest(),
    path: file.path,
    original: () => ctx.scratchSpace.read(file.path),
    dispose: () => file.dispose(),
  }
}

/**
 * A whole file in memory, identified from all its bytes. `streamed`: its size was not known
 * before it was read, and a refusal says "over" the limit, as it does for any stream.
 */
async function fromMemory(
  ctx: ServiceContext,
  held: {
    bytes: Buffer
    checksum: () => string
    local: LocalFile | null
    streamed: boolean
    identified?: Identified | undefined
  },
): Promise<Body> {
  const { config } = ctx
  const { bytes, local } = held
  const size = bytes.byteLength
  const imageMax = config.limits.maxFileBytes
  if (size > imageMax && allowedVideoTypes(config).length === 0) throw tooLarge(size, imageMax)
  const { mimeType, route } = held.identified ?? (await identify(config, bytes))
  if (route === 'image') {
    if (size > imageMax) throw tooLarge(size, imageMax)
    return { kind: 'image', mimeType, size, checksum: held.checksum(), bytes }
  }
  const videoMax = config.video.maxFileBytes
  if (size > videoMax) throw tooLarge(held.streamed ? null : size, videoMax)
  const video = { kind: 'video' as const, mimeType, size, checksum: held.checksum() }
  if (local) return { ...video, path: local.path, original: () => bytes, dispose: async () => {} }
  const file = await ctx.scratchSpace.spool([bytes])
  return { ...video, path: file.path, original: () => bytes, dispose: () => file.dispose() }
}

/** A local video: hashed by streaming it, probed and stored from where it is. */
async function localVideo(
  ctx: ServiceContext,
  file: { path: string; size: number },
  mimeType: string,
): Promise<Body> {
  const { config, scratchSpace } = ctx
  if (file.size > config.video.maxFileBytes) throw tooLarge(file.size, config.video.maxFileBytes)
  const hash = createHash('sha256')
  for await (const chunk of scratchSpace.read(file.path)) hash.update(chunk as Buffer)
  return {
    kind: 'video',
    mimeType,
    size: file.size,
    checksum: hash.digest('hex'),
    path: file.path,
    original: () => scratchSpace.read(file.path),
    dispose: async () => {},
  }
}

function tooLarge(size: number | null, maxBytes: number): DarkroomError {
  return new DarkroomError('PAYLOAD_TOO_LARGE', tooLargeMessage(size, maxBytes))
}
