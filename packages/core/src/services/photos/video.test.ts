import { createReadStream } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DarkroomError } from '../../errors.js'
import { localFile } from '../../internal/bytes.js'
import { FsScratchSpace } from '../../node/index.js'
import type { BlobStore } from '../../ports/blob-store.js'
import { asPhoto, makeCaller, makeJpeg, makeTestDarkroom, photosOf } from '../../testing/index.js'
import {
  FFMPEG_MISSING,
  H264,
  MJPEG,
  MPEG4,
  VP8,
  VP9,
  makeClip,
  rotateClip,
  truncateClip,
} from '../../node/testing/make-clip.js'

const alice = makeCaller('alice')
const VIDEO_ON = { video: { enabled: true } }

async function blobKeys(blobs: BlobStore): Promise<string[]> {
  const keys: string[] = []
  for await (const b of blobs.list()) keys.push(b.key)
  return keys.sort()
}

/** The real scratch space, counting the files it writes. */
class CountingScratchSpace extends FsScratchSpace {
  spooled = 0
  override spool(...args: Parameters<FsScratchSpace['spool']>) {
    this.spooled++
    return super.spool(...args)
  }
}

async function readBlob(blobs: BlobStore, key: string): Promise<Buffer> {
  const stream = await blobs.get(key)
  if (!stream) throw new Error(`no blob ${key}`)
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

if (FFMPEG_MISSING) console.warn(FFMPEG_MISSING)

describe.skipIf(FFMPEG_MISSING !== null)('video ingest', () => {
  let dir: string
  const clips: Record<string, string> = {}

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'darkroom-video-test-'))
    const made = await Promise.all([
      makeClip(dir, 'h264.mp4'),
      makeClip(dir, 'vp9.webm', { codec: VP9 }),
      makeClip(dir, 'vp8.webm', { codec: VP8, duration: 2, size: '256x144' }),
      makeClip(dir, 'h264.mov', { size: '400x224' }),
      makeClip(dir, 'mjpeg.avi', { codec: MJPEG }),
      makeClip(dir, 'mpeg4.avi', { codec: MPEG4, duration: 2 }),
      makeClip(dir, 'dated.mp4', { extra: ['-metadata', 'creation_time=2024-05-01T10:20:30Z'] }),
      makeClip(dir, 'dated.mov', {
        extra: [
          '-movflags',
          'use_metadata_tags',
          '-metadata',
          'com.apple.quicktime.creationdate=2023-07-14T18:05:09+0200',
          '-metadata',
          'creation_time=2023-07-14T16:05:09Z',
        ],
      }),
      makeClip(dir, 'short.mp4', { duration: 0.5 }),
      makeClip(dir, 'red-then-blue.mp4', {
        source:
          'color=c=red:s=320x240:r=25:d=0.6[a];color=c=blue:s=320x240:r=25:d=2.4[b];' +
          '[a][b]concat=n=2:v=1[out0]',
      }),
      makeClip(dir, 'red-short.mp4', { source: 'color=c=red:s=320x240:r=25:d=0.5' }),
      makeClip(dir, 'faststart.mp4', { extra: ['-movflags', '+faststart'] }),
      makeClip(dir, 'vp8-long.webm', { codec: VP8, duration: 4 }),
    ])
    for (const path of made) clips[path.slice(dir.length + 1)] = path
    clips['rotated.mp4'] = await rotateClip(clips['h264.mp4']!, join(dir, 'rotated.mp4'), 90)
    clips['rotated180.mov'] = await rotateClip(clips['h264.mov']!, join(dir, 'r180.mov'), 180)
    clips['cut.mp4'] = await truncateClip(clips['h264.mp4']!, join(dir, 'cut.mp4'))
    clips['cut-faststart.mp4'] = await truncateClip(
      clips['faststart.mp4']!,
      join(dir, 'cut-faststart.mp4'),
    )
    clips['cut.webm'] = await truncateClip(clips['vp8-long.webm']!, join(dir, 'cut.webm'))
  })

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const cases = [
    { clip: 'h264.mp4', mimeType: 'video/mp4', width: 320, height: 240, duration: 3 },
    { clip: 'vp9.webm', mimeType: 'video/webm', width: 320, height: 240, duration: 3 },
    { clip: 'vp8.webm', mimeType: 'video/webm', width: 256, height: 144, duration: 2 },
    { clip: 'h264.mov', mimeType: 'video/quicktime', width: 400, height: 224, duration: 3 },
    { clip: 'mjpeg.avi', mimeType: 'video/x-msvideo', width: 320, height: 240, duration: 3 },
    { clip: 'mpeg4.avi', mimeType: 'video/x-msvideo', width: 320, height: 240, duration: 2 },
  ]

  it.each(cases)(
    'ingests $clip: sniffed type, duration, size, poster variants, thumbhash, hue',
    async ({ clip, mimeType, width, height, duration }) => {
      const { darkroom, blobs } = await makeTestDarkroom({ config: VIDEO_ON })
      const bytes = await readFile(clips[clip]!)
      const { uploaded, skipped } = await darkroom.photos.upload(alice, {
        // The name lies: the type comes from the bytes.
        files: [{ filename: 'clip.jpg', data: bytes }],
      })
      expect(skipped).toEqual([])
      const photo = asPhoto(uploaded[0]!)
      expect(photo).toMatchObject({ kind: 'video', mimeType, width, height, orientation: 1 })
      expect(photo.size).toBe(bytes.byteLength)
      expect(Math.abs(photo.durationSec! - duration)).toBeLessThanOrEqual(0.1)
      expect(photo.thumbhash).toMatch(/^[A-Za-z0-9+/]+=*$/)
      expect(photo.hue).toMatch(/^#[0-9a-f]{6}$/)
      expect(photo.variants.original).toMatch(
        new RegExp(`/original\\.${photo.variants.original.split('.').pop()}$`),
      )

      const keys = await blobKeys(blobs)
      expect(keys).toEqual(
        [
          `photos/${photo.id}/original`,
          `photos/${photo.id}/small.webp`,
          `photos/${photo.id}/medium.webp`,
          `photos/${photo.id}/large.webp`,
        ].sort(),
      )
      // The original is kept byte for byte; the poster variants decode with the video's aspect.
      expect((await readBlob(blobs, `photos/${photo.id}/original`)).equals(bytes)).toBe(true)
      const small = await sharp(await readBlob(blobs, `photos/${photo.id}/small.webp`)).metadata()
      expect(small.format).toBe('webp')
      expect(Math.max(small.width!, small.height!)).toBe(Math.min(320, Math.max(width, height)))
      expect(small.width! / small.height!).toBeCloseTo(width / height, 1)
    },
  )

  it('swaps the displayed size of a rotated video and turns its poster upright', async () => {
    const { darkroom, blobs } = await makeTestDarkroom({ config: VIDEO_ON })
    const { uploaded } = await darkroom.photos.upload(alice, {
      files: [
        { filename: 'portrait.mp4', data: await readFile(clips['rotated.mp4']!) },
        { filename: 'upside-down.mov', data: await readFile(clips['rotated180.mov']!) },
      ],
    })
    const [portrait, upsideDown] = photosOf({ uploaded }).sort((a, b) => a.index - b.index)
    expect(portrait).toMatchObject({ width: 240, height: 320, ratio: 0.75 })
    expect([6, 8]).toContain(portrait!.orientation)
    const poster = await sharp(
      await readBlob(blobs, `photos/${portrait!.id}/large.webp`),
    ).metadata()
    expect([poster.width, poster.height]).toEqual([240, 320])
    expect(upsideDown).toMatchObject({ width: 400, height: 224, orientation: 3 })
  })

  it('reads the capture date: UTC creation_time, or QuickTime creationdate with its offset', async () => {
    const { darkroom } = await makeTestDarkroom({ config: VIDEO_ON })
    const { uploaded } = await darkroom.photos.upload(alice, {
      files: [
        { filename: 'a.mp4', data: await readFile(clips['dated.mp4']!) },
        { filename: 'b.mov', data: await readFile(clips['dated.mov']!) },
        { filename: 'c.mp4', data: await readFile(clips['h264.mp4']!) },
      ],
    })
    const byIndex = photosOf({ uploaded })
      .sort((a, b) => a.index - b.index)
      .map((p) => p.takenAt)
    expect(byIndex).toEqual(['2024-05-01T10:20:30+00:00', '2023-07-14T18:05:09+02:00', null])
  })

  it('takes the poster at 1 s, or the first frame of a clip shorter than 1.5 s', async () => {
    const { darkroom } = await makeTestDarkroom({ config: VIDEO_ON })
    const { uploaded, skipped } = await darkroom.photos.upload(alice, {
      files: [
        { filename: 'rb.mp4', data: await readFile(clips['red-then-blue.mp4']!) },
        { filename: 'red.mp4', data: await readFile(clips['red-short.mp4']!) },
        { filename: 'short.mp4', data: await readFile(clips['short.mp4']!) },
      ],
    })
    expect(skipped).toEqual([])
    const [redThenBlue, red, short] = photosOf({ uploaded }).sort((a, b) => a.index - b.index)
    const channels = (hue: string | null) => {
      const n = Number.parseInt(hue!.slice(1), 16)
      return { r: n >> 16, b: n & 0xff }
    }
    // Red for 0.6 s, then blue: the frame at 1 s is blue.
    expect(channels(redThenBlue!.hue).b).toBeGreaterThan(channels(redThenBlue!.hue).r + 100)
    expect(channels(red!.hue).r).toBeGreaterThan(channels(red!.hue).b + 100)
    expect(short!.durationSec).toBeCloseTo(0.5, 1)
    expect(short!.variants.small).not.toBeNull()
  })

  it.each(['cut.mp4', 'cut-faststart.mp4', 'cut.webm'])(
    'refuses a truncated video (%s) cleanly: VALIDATION corrupt, nothing stored',
    async (clip) => {
      const { darkroom, blobs, store } = await makeTestDarkroom({ config: VIDEO_ON })
      const error = await darkroom.photos
        .upload(alice, { files: [{ filename: clip, data: await readFile(clips[clip]!) }] })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DarkroomError)
      expect(error).toMatchObject({
        code: 'VALIDATION',
        violations: [{ property: 'file', reason: 'corrupt' }],
      })
      // ffmpeg's own words stay in the logs.
      expect((error as DarkroomError).message).not.toMatch(/moov|partial|ffprobe|ffmpeg/i)
      expect(await blobKeys(blobs)).toEqual([])
      expect((await darkroom.photos.list(alice, {})).total).toBe(0)
      void store
    },
  )

  it('refuses video when it is not enabled, naming the type', async () => {
    const { darkroom, blobs } = await makeTestDarkroom()
    const error = await darkroom.photos
      .upload(alice, { files: [{ filename: 'a.mp4', data: await readFile(clips['h264.mp4']!) }] })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'VALIDATION',
      violations: [{ reason: 'invalid_type' }],
    })
    expect((error as Error).message).toContain('"video/mp4"')
    expect(await blobKeys(blobs)).toEqual([])
  })

  it('refuses only the video types left out of video.mimeTypes', async () => {
    const { darkroom } = await makeTestDarkroom({
      config: { video: { enabled: true, mimeTypes: ['video/mp4'] } },
    })
    const { uploaded, skipped } = await darkroom.photos.upload(alice, {
      files: [
        { filename: 'a.mp4', data: await readFile(clips['h264.mp4']!) },
        { filename: 'b.webm', data: await readFile(clips['vp8.webm']!) },
      ],
    })
    expect(photosOf({ uploaded }).map((p) => p.mimeType)).toEqual(['video/mp4'])
    expect(skipped).toMatchObject([{ index: 1, reason: 'invalid_type' }])
    expect(skipped[0]!.message).toContain('"video/webm"')
  })

  it('streams: a Readable is spooled to a temp file that is removed; a local file is probed in place', async () => {
    const tempDir = join(dir, 'spool')
    const scratchSpace = new CountingScratchSpace({ directory: tempDir })
    const { darkroom, blobs } = await makeTestDarkroom({
      config: { video: { enabled: true, tempDir } },
      scratchSpace,
    })
    const bytes = await readFile(clips['h264.mov']!)
    // Small chunks: the sniff must gather its head across several of them.
    const chunks = Array.from({ length: Math.ceil(bytes.byteLength / 1000) }, (_, i) =>
      bytes.subarray(i * 1000, (i + 1) * 1000),
    )
    const spooled = await darkroom.photos.upload(alice, {
      files: [{ filename: 'a.mov', data: Readable.from(chunks) }],
    })
    expect(spooled.uploaded[0]).toMatchObject({ kind: 'video', size: bytes.byteLength })
    expect(scratchSpace.spooled).toBe(1)
    expect(await readdir(tempDir)).toEqual([])

    // A file stream is a stream like any other.
    const streamed = await darkroom.photos.upload(alice, {
      files: [{ filename: 'b.webm', data: createReadStream(clips['vp8.webm']!) }],
    })
    expect(streamed.uploaded[0]).toMatchObject({ kind: 'video', mimeType: 'video/webm' })
    expect(scratchSpace.spooled).toBe(2)

    // A local file is read where it is: never copied to the scratch space, never removed.
    const onDisk = await darkroom.photos.upload(alice, {
      files: [{ filename: 'c.webm', data: localFile(clips['vp9.webm']!) }],
    })
    const photo = onDisk.uploaded[0]!
    const original = await readBlob(blobs, `photos/${photo.id}/original`)
    expect(original.equals(await readFile(clips['vp9.webm']!))).toBe(true)
    expect(scratchSpace.spooled).toBe(2)
    expect(await readdir(tempDir)).toEqual([])

    // Images still take the in-memory path, from a stream too.
    const jpeg = await makeJpeg({ width: 64, height: 48 })
    const image = await darkroom.photos.upload(alice, {
      files: [
        { filename: 'd.jpg', data: Readable.from([jpeg.subarray(0, 10), jpeg.subarray(10)]) },
      ],
    })
    expect(image.uploaded[0]).toMatchObject({ kind: 'image', durationSec: null, width: 64 })
  })

  it('with video on, a TIFF whose type only its whole file settles is still an image', async () => {
    const { darkroom } = await makeTestDarkroom({ config: VIDEO_ON })
    const tiffOf = (background: string) =>
      sharp({ create: { width: 80, height: 60, channels: 3, background } })
        .tiff({ compression: 'none' })
        .toBuffer()
    const [tiff, other] = await Promise.all([tiffOf('#aa3300'), tiffOf('#0033aa')])
    const dir2 = await mkdtemp(join(tmpdir(), 'darkroom-tiff-'))
    try {
      const path = join(dir2, 'scan.tif')
      await writeFile(path, other)
      const { uploaded } = await darkroom.photos.upload(alice, {
        files: [
          { filename: 'a.tif', data: Readable.from([tiff.subarray(0, 1000), tiff.subarray(1000)]) },
          { filename: 'b.tif', data: localFile(path, other.byteLength) },
        ],
      })
      expect(photosOf({ uploaded }).map((p) => [p.kind, p.mimeType, p.width])).toEqual([
        ['image', 'image/tiff', 80],
        ['image', 'image/tiff', 80],
      ])
    } finally {
      await rm(dir2, { recursive: true, force: true })
    }
  })

  it('never holds a streamed video in memory: spooling starts once its first bytes name it', async () => {
    const bytes = await readFile(clips['h264.mp4']!)
    const chunkBytes = 1000
    let yielded = 0
    let yieldedWhenSpooling = -1
    class WatchingScratchSpace extends FsScratchSpace {
      override spool(...args: Parameters<FsScratchSpace['spool']>) {
        yieldedWhenSpooling = yielded
        return super.spool(...args)
      }
    }
    async function* source() {
      for (let at = 0; at < bytes.byteLength; at += chunkBytes) {
        const chunk = bytes.subarray(at, at + chunkBytes)
        yielded += chunk.byteLength
        yield chunk
      }
    }
    const { darkroom } = await makeTestDarkroom({
      config: VIDEO_ON,
      scratchSpace: new WatchingScratchSpace(),
    })
    const { uploaded } = await darkroom.photos.upload(alice, {
      files: [{ filename: 'a.mp4', data: source() }],
    })
    expect(uploaded[0]).toMatchObject({ kind: 'video', size: bytes.byteLength })
    // The clip is far larger than its head; only the head (and the chunk that crossed it) was
    // read before the scratch file began, whatever the image limit.
    expect(bytes.byteLength).toBeGreaterThan(10 * 4100)
    expect(yieldedWhenSpooling).toBeGreaterThan(0)
    expect(yieldedWhenSpooling).toBeLessThanOrEqual(4100 + chunkBytes)
  })

  it('takes a local file past the image limit from its first bytes, without reading it into memory', async () => {
    const scratchSpace = new CountingScratchSpace()
    const { darkroom, blobs } = await makeTestDarkroom({
      config: { limits: { maxFileBytes: 2_000 }, video: { enabled: true } },
      scratchSpace,
    })
    const path = clips['h264.mp4']!
    const bytes = await readFile(path)
    expect(bytes.byteLength).toBeGreaterThan(2_000)
    const { uploaded } = await darkroom.photos.upload(alice, {
      files: [{ filename: 'a.mp4', data: localFile(path, bytes.byteLength) }],
    })
    expect(uploaded[0]).toMatchObject({
      kind: 'video',
      mimeType: 'video/mp4',
      size: bytes.byteLength,
    })
    expect((await readBlob(blobs, `photos/${uploaded[0]!.id}/original`)).equals(bytes)).toBe(true)
    expect(scratchSpace.spooled).toBe(0)
    await expect(readFile(path)).resolves.toEqual(bytes)

    // Past the image limit, an image is too large whatever its size claims.
    const jpegPath = join(dir, 'big.jpg')
    const jpeg = await makeJpeg({ width: 1500, height: 1500 })
    expect(jpeg.byteLength).toBeGreaterThan(2_000)
    await writeFile(jpegPath, jpeg)
    const error = await darkroom.photos
      .upload(alice, { files: [{ filename: 'big.jpg', data: localFile(jpegPath) }] })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
  })

  it('applies the video size limit to videos and the image limit to images', async () => {
    const { darkroom, blobs } = await makeTestDarkroom({
      config: { limits: { maxFileBytes: 2_000 }, video: { enabled: true, maxFileBytes: 12_000 } },
    })
    const mp4 = await readFile(clips['h264.mp4']!)
    expect(mp4.byteLength).toBeGreaterThan(12_000)
    const big = await darkroom.photos
      .upload(alice, { files: [{ filename: 'a.mp4', data: Readable.from([mp4]) }] })
      .catch((e: unknown) => e)
    expect(big).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
    expect((big as Error).message).toContain('11.72 KB')

    const relaxed = await makeTestDarkroom({
      config: { limits: { maxFileBytes: 2_000 }, video: { enabled: true } },
    })
    const ok = await relaxed.darkroom.photos.upload(alice, {
      files: [{ filename: 'a.mp4', data: Readable.from([mp4]) }],
    })
    expect(ok.uploaded).toHaveLength(1)
    const jpeg = await makeJpeg({ width: 1500, height: 1500 })
    expect(jpeg.byteLength).toBeGreaterThan(2_000)
    const image = await relaxed.darkroom.photos
      .upload(alice, { files: [{ filename: 'a.jpg', data: jpeg }] })
      .catch((e: unknown) => e)
    expect(image).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
    expect(await blobKeys(blobs)).toEqual([])
  })

  it('hard delete removes the original, the poster variants and the row', async () => {
    const { darkroom, blobs } = await makeTestDarkroom({ config: VIDEO_ON })
    const { uploaded } = await darkroom.photos.upload(alice, {
      files: [{ filename: 'a.mp4', data: await readFile(clips['h264.mp4']!) }],
    })
    expect((await blobKeys(blobs)).length).toBe(4)
    await darkroom.photos.delete(alice, { id: uploaded[0]!.id, hard: true })
    expect(await blobKeys(blobs)).toEqual([])
    await expect(darkroom.photos.get(alice, { id: uploaded[0]!.id })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
  })

  it('skips a duplicate video by checksum, like a photo', async () => {
    const { darkroom } = await makeTestDarkroom({ config: VIDEO_ON })
    const data = await readFile(clips['h264.mp4']!)
    const first = await darkroom.photos.upload(alice, { files: [{ filename: 'a.mp4', data }] })
    const again = await darkroom.photos.upload(alice, {
      files: [{ filename: 'b.mp4', data: createReadStream(clips['h264.mp4']!) }],
    })
    expect(again.skipped).toMatchObject([
      { reason: 'duplicate', existingId: first.uploaded[0]!.id },
    ])
  })

  it('precheck: the size limit follows the type of the first bytes', async () => {
    const { darkroom } = await makeTestDarkroom({ config: VIDEO_ON })
    const size = 200 * 1024 * 1024
    const mp4Head = (await readFile(clips['h264.mp4']!)).subarray(0, 4100)
    const jpegHead = (await makeJpeg({ width: 64, height: 64 })).subarray(0, 4100)
    await expect(darkroom.photos.precheck(alice, { size })).resolves.toBeUndefined()
    await expect(darkroom.photos.precheck(alice, { size, head: mp4Head })).resolves.toBeUndefined()
    await expect(darkroom.photos.precheck(alice, { size, head: jpegHead })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    })
    await expect(
      darkroom.photos.precheck(alice, { size: 11 * 1024 ** 3, head: mp4Head }),
    ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })

    const off = await makeTestDarkroom()
    await expect(off.darkroom.photos.precheck(alice, { size })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    })
    await expect(off.darkroom.photos.precheck(alice, { head: mp4Head })).rejects.toMatchObject({
      code: 'VALIDATION',
      violations: [{ reason: 'invalid_type' }],
    })
  })

  it('refuses to start with video enabled when ffmpeg or ffprobe is missing', async () => {
    const error = await makeTestDarkroom({
      config: { video: { enabled: true, ffprobePath: join(dir, 'no-such-ffprobe') } },
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DarkroomError)
    expect(error).toMatchObject({
      code: 'VALIDATION',
      violations: [{ property: 'video.ffprobePath' }],
    })
    expect((error as Error).message).toMatch(/ffprobe was not found/)
    // Disabled, nothing is checked.
    await expect(
      makeTestDarkroom({ config: { video: { ffmpegPath: join(dir, 'no-such-ffmpeg') } } }),
    ).resolves.toBeDefined()
  })
})
