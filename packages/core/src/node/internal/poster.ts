import { corruptVideoError } from '../../media/video/video-violations.js'
import type { Poster, VideoFile, VideoProbe } from '../../ports/frame-extractor.js'
import { fileUrl, inputOptions } from './probe-video.js'
import { ProcessError, runProcess } from './run-process.js'

/**
 * The poster frame of a video: one frame at 1 s (the first frame of a clip shorter than 1.5 s,
 * where 1 s would be near or past its end), decoded by ffmpeg with autorotate on (its default),
 * so the frame is upright and sized as displayed. It comes back as an 8-bit PNG (lossless, fast
 * to write at compression level 1) that the image pipeline renders into variants, thumbhash and
 * hue exactly like a photo. Input seeking (`-ss` before `-i`) jumps to the keyframe before the
 * mark, so the cost does not grow with the video.
 */
export interface FfmpegOptions {
  ffmpegPath: string
  timeoutMs: number
}

/** Clips shorter than this get their first frame. */
export const SHORT_CLIP_SEC = 1.5

export async function extractPoster(
  video: VideoFile,
  probe: VideoProbe,
  options: FfmpegOptions,
): Promise<Poster> {
  const first = probe.durationSec < SHORT_CLIP_SEC ? 0 : 1
  // A frame at 1 s may still be missing (a stream that starts late, sparse frames): retry at 0.
  for (const atSec of first === 0 ? [0] : [first, 0]) {
    const data = await grabFrame({ video, probe, atSec, options })
    if (data.byteLength > 0) return { data, atSec }
  }
  throw corruptVideoError(video.mimeType, new Error('ffmpeg decoded no frame'))
}

async function grabFrame(args: {
  video: VideoFile
  probe: VideoProbe
  atSec: number
  options: FfmpegOptions
}): Promise<Buffer> {
  const { video, probe, atSec, options } = args
  const ffmpegArgs = [
    '-v',
    'error',
    '-nostdin',
    ...inputOptions(video.mimeType),
    ...(atSec > 0 ? ['-ss', String(atSec)] : []),
    '-i',
    fileUrl(video.path),
    '-map',
    `0:${probe.streamIndex}`,
    '-frames:v',
    '1',
    '-pix_fmt',
    'rgb24',
    '-compression_level',
    '1',
    '-f',
    'image2pipe',
    '-c:v',
    'png',
    'pipe:1',
  ]
  // An uncompressed RGB frame plus PNG overhead bounds what a real frame can take.
  const maxStdoutBytes = probe.storedWidth * probe.storedHeight * 4 + 1024 * 1024
  try {
    const { stdout } = await runProcess(options.ffmpegPath, ffmpegArgs, {
      timeoutMs: options.timeoutMs,
      maxStdoutBytes,
    })
    return stdout
  } catch (error) {
    if (error instanceof ProcessError && error.reason === 'exit') {
      throw corruptVideoError(video.mimeType, error)
    }
    throw error
  }
}
