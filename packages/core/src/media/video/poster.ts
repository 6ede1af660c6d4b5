import { fileUrl, inputOptions, type VideoProbe } from './probe-video.js'
import { corruptVideoError } from './video-violations.js'
import { ProcessError, runProcess } from './run-process.js'

/**
 * The poster frame of a video: one frame at 1 s (the first frame of a clip shorter than 1.5 s,
 * where 1 s would be near or past its end), decoded by ffmpeg with autorotate on (its default),
 * so the frame is upright and sized as displayed. It comes back as an 8-bit PNG (lossless, fast
 * to write at compression level 1) that the image pipeline renders into variants, thumbhash and
 * hue exactly like a photo. Input seeking (`-ss` before `-i`) jumps to the keyframe before the
 * mark, so the cost does not grow with the video.
 */
export interface ExtractPosterOptions {
  ffmpegPath: string
  timeoutMs: number
  mimeType: string
}

export interface Poster {
  /** PNG bytes. */
  data: Buffer
  /** Where the frame was taken, in seconds. */
  atSec: number
}

/** Clips shorter than this get their first frame. */
export const SHORT_CLIP_SEC = 1.5

/**
 * @example
 * const probe = await probeVideo(path, opts)
 * const { data } = await extractPoster(path, probe, { ffmpegPath: 'ffmpeg', timeoutMs: 60_000,
 *   mimeType: probe.mimeType })
 */
export async function extractPoster(
  path: string,
  probe: VideoProbe,
  options: ExtractPosterOptions,
): Promise<Poster> {
  const first = probe.durationSec < SHORT_CLIP_SEC ? 0 : 1
  // A frame at 1 s may still be missing (a stream that starts late, sparse frames): retry at 0.
  for (const atSec of first === 0 ? [0] : [first, 0]) {
    const data = await grabFrame(path, probe, atSec, options)
    if (data.byteLength > 0) return { data, atSec }
  }
  throw corruptVideoError(options.mimeType, new Error('ffmpeg decoded no frame'))
}

async function grabFrame(
  path: string,
  probe: VideoProbe,
  atSec: number,
  options: ExtractPosterOptions,
): Promise<Buffer> {
  const args = [
    '-v',
    'error',
    '-nostdin',
    ...inputOptions(options.mimeType),
    ...(atSec > 0 ? ['-ss', String(atSec)] : []),
    '-i',
    fileUrl(path),
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
    const { stdout } = await runProcess(options.ffmpegPath, args, {
      timeoutMs: options.timeoutMs,
      maxStdoutBytes,
    })
    return stdout
  } catch (error) {
    if (error instanceof ProcessError && error.reason === 'exit') {
      throw corruptVideoError(options.mimeType, error)
    }
    throw error
  }
}
