import { deflateSync } from 'node:zlib'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { IMAGE_MIME_TYPES } from '../config.js'
import { DarkroomError } from '../errors.js'
import { makeJpeg, makePng } from '../testing/images.js'
import {
  cutOffGif,
  jpegManyAppSegments,
  pngChunk,
  pngIccpBomb,
  pngItxtBomb,
  pngManyTextChunks,
  pngWithComment,
  pngZtxtBomb,
  tiffIfdChain,
  truncatedGif,
} from '../testing/metadata-bombs.js'
import { maxLzwPixels } from './internal/structure/gif.js'
import { probeImage } from './probe-image.js'
import { readExif } from './read-exif.js'
import { STRUCTURE_LIMITS, checkStructure, inflatedSize } from './structure-limits.js'

// The structural pre-scan on generated metadata bombs; the shared corpus passing it is
// media-corpus.test.ts (every real photo is probed through it).

async function refusal(promise: Promise<unknown>): Promise<{ reason?: string; message: string }> {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(DarkroomError)
  const violation = (error as DarkroomError).violations[0]!
  expect((error as DarkroomError).code).toBe('VALIDATION')
  return { reason: violation.reason, message: violation.message }
}

const probeLimits = { maxInputPixels: 150_000_000, allowedMimeTypes: IMAGE_MIME_TYPES }

describe('checkStructure refuses metadata bombs, naming the limit', () => {
  it.each([
    {
      name: 'an iCCP profile that inflates to 1.5 GB',
      make: () => pngIccpBomb(1_500_000_000),
      message:
        'The image/png file is refused before decoding: its ICC profile inflates to more ' +
        'than 16 MB (the limit is 16 MB).',
    },
    {
      name: 'a zTXt comment that inflates to 1.5 GB',
      make: () => pngZtxtBomb(1_500_000_000),
      message: /its metadata inflates to more than 32 MB \(the limit is 32 MB\)/,
    },
    {
      name: 'an iTXt comment that inflates to 1.5 GB',
      make: () => pngItxtBomb(1_500_000_000),
      message: /its metadata inflates to more than 32 MB/,
    },
    {
      name: '400 000 tEXt chunks',
      make: () => pngManyTextChunks(400_000),
      message: /it has more than 1,000 PNG text chunks \(the limit is 1,000\)/,
    },
  ])('PNG: $name', async ({ make, message }) => {
    const png = await make()
    const found = await refusal(checkStructure(png, 'png', 'image/png'))
    expect(found.reason).toBe('corrupt')
    expect(found.message).toMatch(message)
  })

  it('PNG: two iCCP chunks are a broken file', async () => {
    const profile = pngChunk('iCCP', Buffer.concat([Buffer.from('a\0\0'), deflateSync('x')]))
    const png = await makePng({ width: 8, height: 8 })
    const twice = Buffer.concat([png.subarray(0, 33), profile, profile, png.subarray(33)])
    const found = await refusal(checkStructure(twice, 'png', 'image/png'))
    expect(found.message).toMatch(/damaged or truncated \(two iCCP chunks\)/)
  })

  it('PNG: honest compressed comments and a 1 MB one pass, and decode', async () => {
    const png = await pngWithComment(1024 * 1024)
    await expect(checkStructure(png, 'png', 'image/png')).resolves.toBeUndefined()
    expect((await probeImage(png, probeLimits)).width).toBe(8)
  })

  it('GIF: 35 bytes that declare 12000x12000 and hold two pixels are refused', async () => {
    const gif = truncatedGif(12_000, 12_000)
    expect(gif.length).toBe(35)
    // libvips reads it as a whole 144-megapixel GIF (what stored it as a photo before).
    expect((await sharp(gif).metadata()).width).toBe(12_000)
    const found = await refusal(probeImage(gif, probeLimits))
    expect(found.reason).toBe('corrupt')
    expect(found.message).toMatch(
      /damaged or truncated \(GIF frame 1 declares 12000x12000 pixels and holds data for far fewer\)/,
    )
  })

  it('GIF: a stream cut off inside a block, or without any image, is refused', async () => {
    const cut = await refusal(checkStructure(cutOffGif(), 'gif', 'image/gif'))
    expect(cut.message).toMatch(/cut off inside a block/)
    const empty = Buffer.concat([truncatedGif().subarray(0, 19), Buffer.from([0x3b])])
    expect((await refusal(checkStructure(empty, 'gif', 'image/gif'))).message).toMatch(/no image/)
  })

  it('GIF: the LZW bound is never below what an encoder writes', async () => {
    for (const [width, height] of [
      [1, 1],
      [64, 48],
      [640, 480],
      [2000, 1500],
    ] as const) {
      // One flat colour compresses best: the smallest LZW data for its pixels.
      const gif = await sharp({ create: { width, height, channels: 3, background: '#000' } })
        .gif()
        .toBuffer()
      await expect(checkStructure(gif, 'gif', 'image/gif')).resolves.toBeUndefined()
    }
    expect(maxLzwPixels(2, 2)).toBe(15) // 5 codes of 3 bits: 1 + 2 + 3 + 4 + 5
    expect(maxLzwPixels(0, 2)).toBe(0)
  })

  it('TIFF: 300 000 directories are refused at the 1,025th, and a loop at once', async () => {
    const many = await refusal(checkStructure(tiffIfdChain(300_000), 'tiff', 'image/tiff'))
    expect(many.message).toMatch(
      /it has more than 1,024 TIFF directories \(IFDs\) \(the limit is 1,024\)/,
    )
    const loop = await refusal(
      checkStructure(tiffIfdChain(3, { loop: true }), 'tiff', 'image/tiff'),
    )
    expect(loop.message).toMatch(/damaged or truncated \(the TIFF directories form a loop\)/)
    await expect(checkStructure(tiffIfdChain(1_024), 'tiff', 'image/tiff')).resolves.toBeUndefined()
  })

  it('EXIF blocks are walked too: a loop in the EXIF of a PNG is refused', async () => {
    const exif = tiffIfdChain(2, { loop: true })
    const png = await makePng({ width: 8, height: 8 })
    const withExif = Buffer.concat([
      png.subarray(0, png.length - 12),
      pngChunk('eXIf', exif),
      png.subarray(png.length - 12),
    ])
    const found = await refusal(checkStructure(withExif, 'png', 'image/png'))
    expect(found.message).toMatch(/the EXIF directories form a loop/)
  })

  it('JPEG: thousands of APP segments, and thousands of scans, are refused', async () => {
    const app = await refusal(checkStructure(await jpegManyAppSegments(5_000, 100), 'jpeg', 'x'))
    expect(app.message).toMatch(/more than 1,000 JPEG APP and comment segments/)
    const jpeg = await makeJpeg({ width: 64, height: 48 })
    const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]))
    // 300 extra SOS markers after the first: counted, never decoded.
    const scans = Buffer.concat([
      jpeg.subarray(0, jpeg.length - 2),
      Buffer.concat(Array.from({ length: 300 }, () => jpeg.subarray(sos, sos + 14))),
      jpeg.subarray(jpeg.length - 2),
    ])
    const found = await refusal(checkStructure(scans, 'jpeg', 'image/jpeg'))
    expect(found.message).toMatch(/more than 256 JPEG scans/)
    await expect(checkStructure(jpeg, 'jpeg', 'image/jpeg')).resolves.toBeUndefined()
  })

  it('the limits are exported and far above what cameras write', () => {
    expect(STRUCTURE_LIMITS).toMatchObject({
      metadataBlocks: 1_000,
      iccProfileBytes: 16 * 1024 * 1024,
      tiffIfds: 1_024,
    })
    expect(Object.isFrozen(STRUCTURE_LIMITS)).toBe(true)
  })
})

describe('inflatedSize', () => {
  it('stops one chunk past the bound, whatever the stream declares', async () => {
    const bomb = deflateSync(Buffer.alloc(64 * 1024 * 1024))
    expect(await inflatedSize(bomb, 1024 * 1024)).toBeNull()
    expect(await inflatedSize(bomb, 64 * 1024 * 1024)).toBe(64 * 1024 * 1024)
  })

  it('counts what came out of a broken stream', async () => {
    const cut = deflateSync(Buffer.alloc(100_000, 7)).subarray(0, 40)
    expect(await inflatedSize(cut, 1_000_000)).toBeGreaterThanOrEqual(0)
    expect(await inflatedSize(Buffer.from('not zlib'), 10)).toBe(0)
  })
})

describe('readExif never inflates what a PNG declares', () => {
  it('an iCCP bomb is read in milliseconds and megabytes (exifr inflated it: +2.9 GB, 8 s)', async () => {
    const png = await pngIccpBomb(1_500_000_000)
    const before = process.memoryUsage.rss()
    const facts = await readExif(png)
    const grewMb = (process.memoryUsage.rss() - before) / 1048576
    expect(facts).toEqual({ takenAt: null, exif: null })
    expect(grewMb).toBeLessThan(100)
  })
})
