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
import { allowedVideoTypes, identify } from './identify.js'

/**
 * Identify, then read or spool: an upload's bytes become a `Body`, hashed as they are read.
 *
 * Each file is read into memory up to the image limit (`limits.maxFileBytes`, what an image may
 * hold anyway), then identified once:
 * - a file that ends within the limit is identified from all its bytes, as the image probe needs
 *   (a TIFF's first IFD may sit past any fixed head). An image stays in memory; a video is
 *   written to the scratch space for ffprobe and ffmpeg (a local file is used where it is);
 * - a file that goes on past the limit can only be an allowed video, which its first bytes tell:
 *   the rest streams to a scratch file behind what was read, stopped at `video.maxFileBytes`.
 *   Anything else is too large.
 * A local file that is larger than the image limit is never read into memory: its first bytes are
 * sniffed, then it is hashed by streaming it and probed in place. Throws `PAYLOAD_TOO_LARGE`
 * past the limit of the type found.
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
  const imageMax = ctx.config.limits.maxFileBytes
  const videoOn = allowedVideoTypes(ctx.config).length > 0
  // With video, the size on disk decides whether the file may be read into memory at all.
  const size = videoOn ? await ctx.scratchSpace.sizeOf(file.path) : file.size
  if (size !== null && size > imageMax) {
    if (!videoOn) throw tooLarge(size, imageMax)
    return fromLargeLocalFile(ctx, { path: file.path, size })
  }
  return fromStream(ctx, { stream: ctx.scratchSpace.read(file.path), local: file })
}

async function fromStream(
  ctx: ServiceContext,
  source: { stream: Readable | AsyncIterable<Uint8Array>; local: LocalFile | null },
): Promise<Body> {
  const { config } = ctx
  const imageMax = config.limits.maxFileBytes
  const reader = new ChunkReader(source.stream)
  try {
    if (await reader.fill(imageMax)) {
      const checksum = () => reader.digest()
      const held = { bytes: reader.bytes(), checksum, local: source.local, streamed: !source.local }
      return await fromMemory(ctx, held)
    }
    if (allowedVideoTypes(config).length === 0) throw tooLarge(null, imageMax)
    const { mimeType, route } = await identify(config, reader.head(SNIFF_BYTES))
    if (route !== 'video') throw tooLarge(null, imageMax)
    const file = await ctx.scratchSpace.spool(reader.drain(config.video.maxFileBytes))
    return {
      kind: 'video',
      mimeType,
      size: file.size,
      checksum: reader.digest(),
      path: file.path,
      original: () => ctx.scratchSpace.read(file.path),
      dispose: () => file.dispose(),
    }
  } finally {
    reader.close()
  }
}

/**
 * A whole file in memory, identified from all its bytes. `streamed`: its size was not known
 * before it was read, and a refusal says "over" the limit, as it does for any stream.
 */
async function fromMemory(
  ctx: ServiceContext,
  held: { bytes: Buffer; checksum: () => string; local: LocalFile | null; streamed: boolean },
): Promise<Body> {
  const { config } = ctx
  const { bytes, local } = held
  const size = bytes.byteLength
  const imageMax = config.limits.maxFileBytes
  if (size > imageMax && allowedVideoTypes(config).length === 0) throw tooLarge(size, imageMax)
  const { mimeType, route } = await identify(config, bytes)
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

/** A local file past the image limit: a video (its first bytes say), or too large. */
async function fromLargeLocalFile(
  ctx: ServiceContext,
  file: { path: string; size: number },
): Promise<Body> {
  const { config, scratchSpace } = ctx
  const head = await readAll(scratchSpace.read(file.path, { end: SNIFF_BYTES }), SNIFF_BYTES)
  const { mimeType, route } = await identify(config, head)
  if (route !== 'video') throw tooLarge(null, config.limits.maxFileBytes)
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
