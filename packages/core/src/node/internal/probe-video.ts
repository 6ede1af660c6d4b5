import { z } from 'zod'
import { corruptVideoError } from '../../media/video/video-violations.js'
import type { VideoFile, VideoProbe } from '../../ports/frame-extractor.js'
import { ProcessError, runProcess } from './run-process.js'

/**
 * What a video is, from ffprobe (`-show_format -show_streams`, JSON, parsed with zod): duration,
 * the size as displayed, rotation, codecs and the capture date.
 *
 * Rotation: phones store portrait video as landscape pixels plus a display matrix. ffprobe 5+
 * reports it as side data `rotation` (degrees anticlockwise, so a portrait phone clip says -90);
 * older builds put a `rotate` tag (degrees clockwise). Both become `rotation`, clockwise, and the
 * EXIF-style `orientation` (90 → 6, 180 → 3, 270 → 8) so videos sort and repair like photos;
 * `width`/`height` are swapped for quarter turns. ffmpeg applies the same matrix when it decodes
 * (autorotate), so the poster frame comes out upright already.
 *
 * Capture date: QuickTime's `com.apple.quicktime.creationdate` keeps the camera's offset
 * (`2024-05-01T12:20:30+0200`); otherwise `creation_time`, which MP4/MOV/Matroska store in UTC,
 * becomes `+00:00`. Unset dates that muxers write as the epoch (1904, 1970) are no date.
 *
 * Truncation: an MP4 cut before its `moov` box fails the probe; one cut after it (fast start),
 * or a WebM cut anywhere, probes fine from its header. `checkVideoIntegrity` reads the packets
 * of the last seconds: a file whose data ends well before its declared duration is corrupt.
 */
export interface FfprobeOptions {
  ffprobePath: string
  timeoutMs: number
}

const tagsSchema = z.record(z.string(), z.union([z.string(), z.number()])).optional()

const streamSchema = z.object({
  index: z.number().int(),
  codec_type: z.string().optional(),
  codec_name: z.string().optional(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  duration: z.string().optional(),
  tags: tagsSchema,
  disposition: z.object({ attached_pic: z.number().optional() }).optional(),
  side_data_list: z
    .array(z.object({ side_data_type: z.string().optional(), rotation: z.number().optional() }))
    .optional(),
})

const probeSchema = z.object({
  streams: z.array(streamSchema).default([]),
  format: z.object({
    format_name: z.string(),
    duration: z.string().optional(),
    start_time: z.string().optional(),
    tags: tagsSchema,
  }),
})

type FfprobeStream = z.output<typeof streamSchema>

const ORIENTATION_BY_ROTATION = { 0: 1, 90: 6, 180: 3, 270: 8 } as const

/**
 * Probes the video file, or refuses it with a `VALIDATION` error (reason `corrupt`) when ffprobe
 * cannot read it, finds no video stream or no duration. A missing ffprobe or a timeout is not the
 * file's fault: it is thrown as is (a 500 at the edge, logged).
 */
export async function probeVideo(file: VideoFile, options: FfprobeOptions): Promise<VideoProbe> {
  const { mimeType } = file
  let stdout: Buffer
  try {
    const result = await runProcess(
      options.ffprobePath,
      [
        ...['-v', 'error', ...inputOptions(mimeType), '-print_format', 'json'],
        ...['-show_format', '-show_streams', fileUrl(file.path)],
      ],
      { timeoutMs: options.timeoutMs, maxStdoutBytes: 8 * 1024 * 1024 },
    )
    stdout = result.stdout
  } catch (error) {
    if (error instanceof ProcessError && error.reason === 'exit') {
      throw corruptVideoError(mimeType, error)
    }
    throw error
  }
  let json: unknown
  try {
    json = JSON.parse(stdout.toString('utf8'))
  } catch (error) {
    throw corruptVideoError(mimeType, error)
  }
  const parsed = probeSchema.safeParse(json)
  if (!parsed.success) throw corruptVideoError(mimeType, parsed.error)
  const { streams, format } = parsed.data

  const video = streams.find(
    (s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1 && s.width && s.height,
  )
  if (!video || !video.width || !video.height) {
    throw corruptVideoError(mimeType, new Error('no video stream with a picture size'))
  }
  const duration = positive(format.duration) ?? positive(video.duration)
  if (duration === null) throw corruptVideoError(mimeType, new Error('no duration'))

  const rotation = rotationOf(video)
  const quarter = rotation === 90 || rotation === 270
  const audio = streams.find((s) => s.codec_type === 'audio')
  return {
    formatName: format.format_name,
    durationSec: Math.round(duration * 1000) / 1000,
    startSec: Number(format.start_time) || 0,
    streamIndex: video.index,
    storedWidth: video.width,
    storedHeight: video.height,
    width: quarter ? video.height : video.width,
    height: quarter ? video.width : video.height,
    rotation,
    orientation: ORIENTATION_BY_ROTATION[rotation],
    codec: video.codec_name ?? 'unknown',
    audioCodec: audio?.codec_name ?? null,
    takenAt: takenAtOf(format.tags) ?? takenAtOf(video.tags),
  }
}

/**
 * Refuses (`VALIDATION`, `corrupt`) a file whose data stops well before the duration its header
 * declares: reads only the packets of the last two seconds (no decoding), so its cost does not
 * grow with the file.
 */
export async function checkVideoIntegrity(
  video: VideoFile,
  probe: VideoProbe,
  options: FfprobeOptions,
): Promise<void> {
  const { mimeType } = video
  const end = probe.startSec + probe.durationSec
  const from = Math.max(0, end - 2)
  let result
  try {
    result = await runProcess(
      options.ffprobePath,
      [
        '-v',
        'error',
        ...inputOptions(mimeType),
        '-read_intervals',
        `${from.toFixed(3)}%`,
        '-show_entries',
        'packet=pts_time,duration_time',
        '-of',
        'csv=p=0',
        fileUrl(video.path),
      ],
      { timeoutMs: options.timeoutMs, maxStdoutBytes: 16 * 1024 * 1024 },
    )
  } catch (error) {
    if (error instanceof ProcessError && error.reason === 'exit') {
      throw corruptVideoError(mimeType, error)
    }
    throw error
  }
  if (/partial file|ended prematurely|truncated/i.test(result.stderr)) {
    throw corruptVideoError(mimeType, new Error(result.stderr.trim()))
  }
  let last = -Infinity
  for (const line of result.stdout.toString('utf8').split('\n')) {
    const [pts, duration] = line.split(',')
    const at = Number(pts)
    if (pts && Number.isFinite(at)) last = Math.max(last, at + (Number(duration) || 0))
  }
  // A second of slack: the last packet of a stream may end before the container's duration.
  if (last < end - Math.max(1, probe.durationSec * 0.05)) {
    throw corruptVideoError(
      mimeType,
      new Error(`data ends at ${last.toFixed(3)} s of a declared ${end.toFixed(3)} s`),
    )
  }
}

/**
 * ffmpeg/ffprobe input options for an uploaded file. The demuxer is forced from the sniffed type,
 * so a file that is really an HLS playlist or an ffconcat list (which make ffmpeg open other
 * files or URLs) is never read as one, and only the `file` protocol is allowed.
 */
export function inputOptions(mimeType: string): string[] {
  const demuxer = DEMUXER_BY_MIME_TYPE[mimeType]
  return [...(demuxer ? ['-f', demuxer] : []), '-protocol_whitelist', 'file']
}

const DEMUXER_BY_MIME_TYPE: Readonly<Record<string, string>> = {
  'video/mp4': 'mov',
  'video/quicktime': 'mov',
  'video/webm': 'matroska',
  'video/x-msvideo': 'avi',
}

/** A path as an ffmpeg URL: `file:` keeps a name starting with `-` or holding `:` a path. */
export function fileUrl(path: string): string {
  return `file:${path}`
}

function positive(value: string | undefined): number | null {
  const n = Number(value)
  return value !== undefined && Number.isFinite(n) && n > 0 ? n : null
}

function rotationOf(stream: FfprobeStream): VideoProbe['rotation'] {
  const matrix = stream.side_data_list?.find((d) => typeof d.rotation === 'number')
  // Side data is anticlockwise; the legacy tag is clockwise.
  const clockwise =
    matrix?.rotation !== undefined ? -matrix.rotation : Number(tag(stream.tags, 'rotate') ?? 0)
  const quarterTurns = Math.round((Number.isFinite(clockwise) ? clockwise : 0) / 90)
  return ((((quarterTurns % 4) + 4) % 4) * 90) as VideoProbe['rotation']
}

function tag(tags: FfprobeStream['tags'], name: string): string | undefined {
  if (!tags) return undefined
  const key = Object.keys(tags).find((k) => k.toLowerCase() === name)
  return key === undefined ? undefined : String(tags[key])
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/

function takenAtOf(tags: FfprobeStream['tags']): string | null {
  for (const name of ['com.apple.quicktime.creationdate', 'creation_time']) {
    const value = tag(tags, name)?.trim()
    const match = value ? DATE.exec(value) : null
    if (!match) continue
    const [, y, mo, d, h, mi, s, zone] = match as unknown as string[]
    if (Number(y) <= 1970) continue
    const wallClock = `${y}-${mo}-${d}T${h}:${mi}:${s}`
    // creation_time is UTC by definition (ISO BMFF, Matroska); a date with no zone keeps none.
    const offset =
      zone === undefined
        ? name === 'creation_time'
          ? '+00:00'
          : ''
        : zone === 'Z'
          ? '+00:00'
          : `${zone.slice(0, 3)}:${zone.slice(-2)}`
    return wallClock + offset
  }
  return null
}
