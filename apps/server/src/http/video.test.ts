import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createFsBlobStore } from '@darkroom/storage'
import { TRPCClientError } from '@trpc/client'
import sharp from 'sharp'
import * as tus from 'tus-js-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeNoiseJpeg, startServer, uploadForm, type TestServer } from '../testing/harness.js'
import { startTusUpload, uploadIdOf } from '../testing/tus-upload.js'
import { FFMPEG_MISSING } from '../../../../packages/core/src/node/testing/make-clip.js'

/**
 * Video end to end: clips made here with ffmpeg, uploaded through tus-js-client in small chunks,
 * served with Range (what a `<video>` element does to seek), deleted with every blob; the
 * 100 MB rule of `photos.upload`, and a truncated video refused on the last PATCH.
 */

const run = promisify(execFile)
if (FFMPEG_MISSING) console.warn(FFMPEG_MISSING)

async function makeClip(path: string, args: string[]): Promise<Buffer> {
  await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', ...args, path])
  return readFile(path)
}

describe.skipIf(FFMPEG_MISSING !== null)('video over HTTP', () => {
  let server: TestServer
  let key: string
  let dir: string
  const clips: Record<string, Buffer> = {}

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'darkroom-video-http-'))
    const h264 = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-preset', 'ultrafast']
    const [mp4, webm, form] = await Promise.all([
      makeClip(join(dir, 'a.mp4'), [
        ...['-i', 'testsrc=duration=3:size=320x240:rate=25', ...h264],
        ...['-movflags', '+faststart', '-metadata', 'creation_time=2025-06-01T08:00:00Z'],
      ]),
      makeClip(join(dir, 'a.webm'), [
        ...['-i', 'testsrc=duration=2:size=256x144:rate=25'],
        ...['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8'],
      ]),
      makeClip(join(dir, 'form.mov'), ['-i', 'testsrc=duration=1:size=160x120:rate=25', ...h264]),
    ])
    clips.form = form
    clips.mp4 = mp4
    clips.webm = webm
    await run('ffmpeg', [
      ...['-v', 'error', '-y', '-i', join(dir, 'a.mp4'), '-c', 'copy'],
      ...['-metadata:s:v:0', 'rotate=90', join(dir, 'rotated.mp4')],
    ])
    clips.rotated = await readFile(join(dir, 'rotated.mp4'))
    clips.truncated = mp4.subarray(0, Math.floor(mp4.byteLength / 2))
    server = await startServer({ env: { VIDEO_ENABLED: 'true' } })
    key = await server.key('alice')
  })
  afterAll(async () => {
    await server?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  async function tusUpload(data: Buffer, filename: string) {
    const { done } = startTusUpload({ url: server.url, key }, data, {
      // Several PATCHes: the first carries the head the type (and size limit) comes from.
      chunkSize: 8 * 1024,
      metadata: { filename },
    })
    const outcome = await done
    return { ...outcome, uploadId: outcome.upload.url ? uploadIdOf(outcome.upload) : null }
  }

  async function blobKeysOf(photoId: string): Promise<string[]> {
    const blobs = createFsBlobStore({ root: join(server.dataDir, 'blobs') })
    const keys: string[] = []
    for await (const blob of blobs.list(`photos/${photoId}/`)) keys.push(blob.key)
    return keys.sort()
  }

  const auth = () => ({ authorization: `Bearer ${key}` })

  it('ingests an MP4 sent with tus: metadata, poster variants, Range serving, hard delete', async () => {
    const { photoId, status, body } = await tusUpload(clips.mp4!, 'holiday.mp4')
    expect(body).toBeNull()
    expect(status).toBe(204)
    expect(photoId).toBeTruthy()

    const photo = await server.client(key).photos.get.query({ id: photoId! })
    expect(photo).toMatchObject({
      kind: 'video',
      mimeType: 'video/mp4',
      width: 320,
      height: 240,
      orientation: 1,
      filename: 'holiday.mp4',
      size: clips.mp4!.byteLength,
      takenAt: '2025-06-01T08:00:00+00:00',
    })
    expect(Math.abs(photo.durationSec! - 3)).toBeLessThanOrEqual(0.1)
    expect(photo.thumbhash).toBeTruthy()
    expect(photo.hue).toMatch(/^#[0-9a-f]{6}$/)
    expect(photo.variants.original).toBe(`/photos/${photoId}/original.mp4`)

    // What a <video> element does to seek: a ranged GET in the middle of the file.
    const start = 4000
    const end = 8191
    const ranged = await fetch(`${server.url}${photo.variants.original}`, {
      headers: { ...auth(), range: `bytes=${start}-${end}` },
    })
    expect(ranged.status).toBe(206)
    expect(ranged.headers.get('content-type')).toBe('video/mp4')
    expect(ranged.headers.get('accept-ranges')).toBe('bytes')
    expect(ranged.headers.get('content-range')).toBe(
      `bytes ${start}-${end}/${clips.mp4!.byteLength}`,
    )
    const part = Buffer.from(await ranged.arrayBuffer())
    expect(part.equals(clips.mp4!.subarray(start, end + 1))).toBe(true)
    const tail = await fetch(`${server.url}${photo.variants.original}`, {
      headers: { ...auth(), range: 'bytes=-100' },
    })
    expect(tail.status).toBe(206)
    expect(Buffer.from(await tail.arrayBuffer()).equals(clips.mp4!.subarray(-100))).toBe(true)
    const whole = await fetch(`${server.url}${photo.variants.original}`, { headers: auth() })
    expect(whole.status).toBe(200)
    expect(whole.headers.get('accept-ranges')).toBe('bytes')
    expect(Buffer.from(await whole.arrayBuffer()).equals(clips.mp4!)).toBe(true)

    // The poster variants are images, with the video's aspect; /image transforms from them.
    for (const name of ['small', 'medium', 'large'] as const) {
      const res = await fetch(`${server.url}${photo.variants[name]}`, { headers: auth() })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('image/webp')
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata()
      expect(meta.width! / meta.height!).toBeCloseTo(320 / 240, 1)
    }
    const thumb = await fetch(`${server.url}/image/${photoId}.jpg?w=160`, { headers: auth() })
    expect(thumb.status).toBe(200)
    expect(thumb.headers.get('content-type')).toBe('image/jpeg')
    expect((await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()).width).toBe(160)

    expect(await blobKeysOf(photoId!)).toEqual(
      ['original', 'large.webp', 'medium.webp', 'small.webp']
        .map((k) => `photos/${photoId}/${k}`)
        .sort(),
    )
    await server.client(key).photos.delete.mutate({ id: photoId!, hard: true })
    expect(await blobKeysOf(photoId!)).toEqual([])
    const gone = await fetch(`${server.url}${photo.variants.original}`, { headers: auth() })
    expect(gone.status).toBe(404)
  })

  it('ingests a rotated MP4 and a WebM through tus', async () => {
    const rotated = await tusUpload(clips.rotated!, 'portrait.mp4')
    const webm = await tusUpload(clips.webm!, 'clip.webm')
    const client = server.client(key)
    const [portrait, vp9] = await client.photos.getMany.query({
      ids: [rotated.photoId!, webm.photoId!],
    })
    expect(portrait).toMatchObject({ kind: 'video', width: 240, height: 320 })
    expect(vp9).toMatchObject({ kind: 'video', mimeType: 'video/webm', width: 256, height: 144 })
    const original = await fetch(`${server.url}${vp9!.variants.original}`, {
      headers: { ...auth(), range: 'bytes=0-15' },
    })
    expect(original.status).toBe(206)
    expect(original.headers.get('content-type')).toBe('video/webm')
  })

  it('refuses a truncated video on the last PATCH; the upload is failed and nothing stored', async () => {
    const before = await server.client(key).photos.list.query({})
    const outcome = await tusUpload(clips.truncated!, 'cut.mp4')
    expect(outcome.status).toBe(422)
    const body = JSON.parse(outcome.body!)
    expect(body.error).toMatchObject({ code: 'VALIDATION' })
    expect(body.error.violations[0]).toMatchObject({ property: 'file', reason: 'corrupt' })
    expect(outcome.body).not.toMatch(/moov|ffprobe|ffmpeg/i)
    const status = await server.client(key).uploads.status.query({ id: outcome.uploadId! })
    expect(status).toMatchObject({ state: 'failed', photoId: null })
    expect(status.error).toMatch(/damaged, truncated or not a video/)
    const after = await server.client(key).photos.list.query({})
    expect(after.total).toBe(before.total)
  })

  it('decides the size limit from the first bytes: a 200 MB video may start, an image may not', async () => {
    const size = 200 * 1024 * 1024
    const create = () =>
      fetch(`${server.url}/files`, {
        method: 'POST',
        headers: { ...auth(), 'Tus-Resumable': '1.0.0', 'Upload-Length': String(size) },
      })
    const patch = (location: string, body: Buffer) =>
      fetch(new URL(location, server.url), {
        method: 'PATCH',
        headers: {
          ...auth(),
          'Tus-Resumable': '1.0.0',
          'Upload-Offset': '0',
          'Content-Type': 'application/offset+octet-stream',
        },
        body,
      })
    const forVideo = await create()
    expect(forVideo.status).toBe(201)
    const videoPatch = await patch(forVideo.headers.get('location')!, clips.mp4!)
    expect(videoPatch.status).toBe(204)
    expect(videoPatch.headers.get('upload-offset')).toBe(String(clips.mp4!.byteLength))
    await fetch(new URL(forVideo.headers.get('location')!, server.url), {
      method: 'DELETE',
      headers: { ...auth(), 'Tus-Resumable': '1.0.0' },
    })

    const forImage = await create()
    expect(forImage.status).toBe(201)
    const jpeg = await makeNoiseJpeg(200, 200)
    const imagePatch = await patch(forImage.headers.get('location')!, jpeg)
    expect(imagePatch.status).toBe(413)
    expect(await imagePatch.text()).toContain('50 MB')
  })

  it('photos.upload refuses a file over 100 MB, pointing to tus', async () => {
    const big = Buffer.concat([clips.mp4!, Buffer.alloc(101 * 1024 * 1024)])
    const error = await server
      .client(key)
      .photos.upload.mutate(uploadForm([{ name: 'big.mp4', data: big, type: 'video/mp4' }]))
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TRPCClientError)
    const data = (error as TRPCClientError<any>).data
    expect(data).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', httpStatus: 422 })
    expect(data.darkroom).toMatchObject({ code: 'VALIDATION' })
    expect(data.darkroom.violations[0].property).toBe('files')
    expect(data.darkroom.violations[0].message).toMatch(/over 100 MB must be uploaded with tus/)

    // A small video through the same procedure is fine (streamed to a temp file, then ingested).
    const { uploaded, skipped } = await server
      .client(key)
      .photos.upload.mutate(uploadForm([{ name: 'small.mov', data: clips.form!, type: '' }]))
    expect(skipped).toEqual([])
    expect(uploaded[0]).toMatchObject({ kind: 'video', mimeType: 'video/quicktime', width: 160 })
  })

  it('a server without video refuses an MP4 at its first bytes, naming the type', async () => {
    const plain = await startServer()
    try {
      const plainKey = await plain.key('alice')
      const outcome = await new Promise<{ status: number | null; body: string }>((resolve) => {
        new tus.Upload(clips.mp4!, {
          endpoint: `${plain.url}/files`,
          headers: { authorization: `Bearer ${plainKey}` },
          retryDelays: [],
          storeFingerprintForResuming: false,
          metadata: { filename: 'a.mp4' },
          onSuccess: () => resolve({ status: 204, body: '' }),
          onError: (error) => {
            const response = (error as tus.DetailedError).originalResponse
            resolve({ status: response?.getStatus() ?? null, body: response?.getBody() ?? '' })
          },
        }).start()
      })
      expect(outcome.status).toBe(422)
      expect(outcome.body).toContain('video/mp4')
    } finally {
      await plain.close()
    }
  })

  it('refuses to start with VIDEO_ENABLED when ffmpeg is missing, saying what to do', async () => {
    const missing = join(dir, 'no-ffmpeg-here')
    const error = await startServer({
      env: { VIDEO_ENABLED: 'true', FFMPEG_PATH: missing },
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toContain('ffmpeg was not found')
    expect((error as Error).message).toContain('FFMPEG_PATH')
  })
})
