/** A video file a tool can open, and its type identified from its bytes. */
export interface VideoFile {
  /** Absolute path. */
  path: string
  /** e.g. `video/mp4`: the demuxer is chosen from it (never guessed from the content). */
  mimeType: string
}

/** What a video is: duration, size as stored and as displayed, rotation, codecs, capture date. */
export interface VideoProbe {
  /** The demuxer's name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
  formatName: string
  /** Seconds, to the millisecond. */
  durationSec: number
  /** The container's start time in seconds (usually 0). */
  startSec: number
  /** Index of the video stream the poster is taken from. */
  streamIndex: number
  /** Pixels as stored. */
  storedWidth: number
  storedHeight: number
  /** As displayed, after rotation. */
  width: number
  height: number
  /** Clockwise degrees a player turns the picture. */
  rotation: 0 | 90 | 180 | 270
  /** The EXIF Orientation that means the same turn: 1, 6, 3 or 8. */
  orientation: 1 | 3 | 6 | 8
  /** The codec name of the video stream: `h264`, `hevc`, `vp9`, `mpeg4`, `mjpeg` ... */
  codec: string
  audioCodec: string | null
  /** `YYYY-MM-DDTHH:MM:SS±HH:MM`, or null. */
  takenAt: string | null
}

/** One frame of a video, upright and sized as displayed. */
export interface Poster {
  /** PNG bytes (always PNG: ingest renders them without sniffing them again). */
  data: Buffer
  /** Where the frame was taken, in seconds. */
  atSec: number
}

/**
 * What video ingest needs from a video tool (ffprobe and ffmpeg): probe, integrity check and
 * poster frame. A file that is not a usable video is the uploader's fault and is refused with a
 * `VALIDATION` error on `file`, reason `corrupt`, whose message never quotes the tool; a tool that
 * is missing, times out or misbehaves is not, and its error propagates unchanged (a 500, logged).
 * Implemented by `FfmpegFrameExtractor` from `@darkroom/core/node`, the default of
 * `createDarkroom`. Every method only reads the file.
 */
export interface FrameExtractor {
  /**
   * Resolves when the tools can run. Otherwise throws `VALIDATION` with one violation per tool
   * that cannot, naming the config property that points at it. `createDarkroom` calls it once
   * when video is enabled, and refuses to start when it throws.
   */
  check(): Promise<void>
  /** Probes the video, or refuses it (`corrupt`) when no video stream with a size and a duration is found. */
  probe(video: VideoFile): Promise<VideoProbe>
  /**
   * Refuses (`corrupt`) a file whose data stops well before the duration its header declares (a
   * truncated upload). Its cost does not grow with the length of the video.
   */
  checkIntegrity(video: VideoFile, probe: VideoProbe): Promise<void>
  /**
   * The poster frame: at 1 s, or the first frame of a clip shorter than 1.5 s (or when there is
   * no frame at 1 s). Refuses (`corrupt`) a video in which no frame can be decoded.
   */
  extractPoster(video: VideoFile, probe: VideoProbe): Promise<Poster>
}
