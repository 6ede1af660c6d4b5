import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DarkroomError } from '../errors.js'
import { FfmpegFrameExtractor } from './ffmpeg-frame-extractor.js'
import { ProcessError, runProcess } from './internal/run-process.js'
import { FFMPEG_MISSING, MJPEG, makeClip, rotateClip } from './testing/make-clip.js'

const ffmpeg = new FfmpegFrameExtractor({ timeoutMs: 30_000 })

if (FFMPEG_MISSING) console.warn(FFMPEG_MISSING)

describe.skipIf(FFMPEG_MISSING !== null)('FfmpegFrameExtractor, runProcess', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'darkroom-probe-video-'))
  })
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('reads duration, stored and displayed size, rotation as orientation, codecs', async () => {
    const plain = await makeClip(dir, 'plain.mp4', {
      size: '320x180',
      extra: ['-f', 'mp4'],
    })
    const probe = await ffmpeg.probe({ path: plain, mimeType: 'video/mp4' })
    expect(probe).toMatchObject({
      durationSec: 3,
      storedWidth: 320,
      storedHeight: 180,
      width: 320,
      height: 180,
      rotation: 0,
      orientation: 1,
      codec: 'h264',
      audioCodec: null,
      takenAt: null,
    })
    await expect(
      ffmpeg.checkIntegrity({ path: plain, mimeType: 'video/mp4' }, probe),
    ).resolves.toBeUndefined()

    for (const degrees of [90, 180, 270]) {
      const rotated = await rotateClip(plain, join(dir, `r${degrees}.mp4`), degrees)
      const turned = await ffmpeg.probe({ path: rotated, mimeType: 'video/mp4' })
      const quarter = degrees !== 180
      expect(turned.storedWidth).toBe(320)
      expect([turned.width, turned.height]).toEqual(quarter ? [180, 320] : [320, 180])
      expect(turned.orientation).toBe({ 0: 1, 90: 6, 180: 3, 270: 8 }[turned.rotation])
      expect(turned.rotation === 180).toBe(!quarter)
      // The poster comes out as displayed.
      const poster = await ffmpeg.extractPoster({ path: rotated, mimeType: 'video/mp4' }, turned)
      expect(poster.atSec).toBe(1)
      expect(poster.data.readUInt32BE(16)).toBe(turned.width)
      expect(poster.data.readUInt32BE(20)).toBe(turned.height)
    }
  })

  it('reads an audio track and the codec of other containers', async () => {
    const withAudio = join(dir, 'audio.avi')
    await runProcess(
      'ffmpeg',
      [
        ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=duration=1:size=160x120:rate=10'],
        ...['-f', 'lavfi', '-i', 'sine=duration=1', ...MJPEG, '-c:a', 'pcm_s16le', withAudio],
      ],
      { timeoutMs: 30_000, maxStdoutBytes: 1024 },
    )
    const avi = { path: withAudio, mimeType: 'video/x-msvideo' }
    const probe = await ffmpeg.probe(avi)
    expect(probe).toMatchObject({ codec: 'mjpeg', audioCodec: 'pcm_s16le', width: 160 })
    const poster = await ffmpeg.extractPoster(avi, probe)
    expect(poster.atSec).toBe(0)
  })

  it('refuses what is not a video as corrupt, keeping ffprobe stderr out of the message', async () => {
    const junk = join(dir, 'junk.mp4')
    await writeFile(junk, Buffer.from('ftypisom, then nothing a demuxer can use'.repeat(50)))
    const error = await ffmpeg.probe({ path: junk, mimeType: 'video/mp4' }).catch((e) => e)
    expect(error).toBeInstanceOf(DarkroomError)
    expect(error).toMatchObject({ code: 'VALIDATION', violations: [{ reason: 'corrupt' }] })
    expect(error.message).toContain('video/mp4')
    expect(error.cause).toBeInstanceOf(ProcessError)
    expect(error.cause.stderr).not.toBe('')
    expect(error.message).not.toMatch(/ffprobe|invalid data|moov|\[mov/i)
  })

  it('never reads an upload as a playlist that would open other files', async () => {
    const target = await makeClip(dir, 'target.mp4', { duration: 1 })
    const playlist = join(dir, 'playlist.mp4')
    await writeFile(
      playlist,
      `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nfile:${target}\n#EXT-X-ENDLIST\n`,
    )
    // Read freely, ffprobe follows the playlist to the clip it names.
    const free = await runProcess(
      'ffprobe',
      ['-v', 'error', '-show_entries', 'format=format_name', '-of', 'csv=p=0', playlist],
      { timeoutMs: 30_000, maxStdoutBytes: 1024 },
    ).catch((e: ProcessError) => e)
    expect(free instanceof ProcessError ? free.stderr : free.stdout.toString()).toMatch(/hls/)
    // Probed as the upload it claims to be, it is refused.
    await expect(ffmpeg.probe({ path: playlist, mimeType: 'video/mp4' })).rejects.toMatchObject({
      code: 'VALIDATION',
      violations: [{ reason: 'corrupt' }],
    })
  })

  it('kills a process that outlives its timeout, and names a missing tool', async () => {
    const started = Date.now()
    const error = await runProcess(
      'ffmpeg',
      ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=5', '-f', 'null', '-'],
      { timeoutMs: 300, maxStdoutBytes: 1024 },
    ).catch((e) => e)
    expect(error).toBeInstanceOf(ProcessError)
    expect(error.reason).toBe('timeout')
    expect(Date.now() - started).toBeLessThan(10_000)

    const missing = await runProcess(join(dir, 'no-such-tool'), ['-version'], {
      timeoutMs: 1_000,
      maxStdoutBytes: 1024,
    }).catch((e) => e)
    expect(missing).toMatchObject({ name: 'ProcessError', reason: 'missing' })

    const chatty = await runProcess(
      'ffmpeg',
      ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=25', '-f', 'rawvideo', '-'],
      { timeoutMs: 10_000, maxStdoutBytes: 100_000 },
    ).catch((e) => e)
    expect(chatty).toMatchObject({ reason: 'output_too_large' })
  })
})
