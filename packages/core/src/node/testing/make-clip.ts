import { execFile, execFileSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

/**
 * Small test clips made with ffmpeg's lavfi sources at test time (nothing binary is committed):
 * `testsrc` patterns in each container, a rotated one, dated ones, a colour-change clip for the
 * poster mark, and truncated files. Tests skip themselves with `FFMPEG_MISSING` when ffmpeg is
 * not installed.
 */
const run = promisify(execFile)

/** Null when ffmpeg and ffprobe run; otherwise the one-line reason tests skip with. */
export const FFMPEG_MISSING: string | null = (() => {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' })
    execFileSync('ffprobe', ['-version'], { stdio: 'ignore' })
    return null
  } catch {
    return 'ffmpeg/ffprobe not found on PATH (Debian: apt-get install ffmpeg); video tests skipped'
  }
})()

export interface ClipOptions {
  /** Seconds; default 3. */
  duration?: number
  /** `WxH`; default 320x240. */
  size?: string
  /** Output codec arguments; default H.264 (libx264, yuv420p). */
  codec?: string[]
  /** Extra output arguments (metadata, movflags). */
  extra?: string[]
  /** lavfi source instead of `testsrc` (its duration and size are then the source's own). */
  source?: string
}

export const H264 = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-preset', 'ultrafast']
export const VP9 = ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8']
export const VP8 = ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8']
export const MJPEG = ['-c:v', 'mjpeg', '-q:v', '5']
export const MPEG4 = ['-c:v', 'mpeg4', '-q:v', '5']

/** Writes `dir/name` (the extension picks the container) and returns its path. */
export async function makeClip(dir: string, name: string, options: ClipOptions = {}) {
  const path = join(dir, name)
  const duration = options.duration ?? 3
  const source =
    options.source ?? `testsrc=duration=${duration}:size=${options.size ?? '320x240'}:rate=25`
  await run('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    source,
    ...(options.codec ?? H264),
    ...(options.extra ?? []),
    path,
  ])
  return path
}

/** Rewrites a clip with a display rotation (stream copy), as phones store portrait video. */
export async function rotateClip(from: string, to: string, degrees: number) {
  await run('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-i',
    from,
    '-c',
    'copy',
    '-metadata:s:v:0',
    `rotate=${degrees}`,
    to,
  ])
  return to
}

/** Keeps the first `fraction` of a file's bytes. */
export async function truncateClip(from: string, to: string, fraction = 0.5) {
  const bytes = await readFile(from)
  await writeFile(to, bytes.subarray(0, Math.floor(bytes.byteLength * fraction)))
  return to
}
