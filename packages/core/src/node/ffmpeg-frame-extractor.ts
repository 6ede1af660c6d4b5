import type { FrameExtractor, Poster, VideoFile, VideoProbe } from '../ports/frame-extractor.js'
import { extractPoster } from './internal/poster.js'
import { checkVideoIntegrity, probeVideo } from './internal/probe-video.js'
import { assertVideoTools } from './internal/video-tools.js'

export interface FfmpegFrameExtractorOptions {
  /** The ffmpeg executable: a path, or a name looked up on PATH. Default `ffmpeg`. */
  ffmpegPath?: string
  /** The ffprobe executable. Default `ffprobe`. */
  ffprobePath?: string
  /** Each run is killed (SIGKILL) after this long, and the video refused. Default 120 s. */
  timeoutMs?: number
}

/**
 * `FrameExtractor` over the ffprobe and ffmpeg executables, run as child processes with a timeout
 * and bounded output, never through a shell. The demuxer is forced from the identified type and
 * only the `file` protocol is allowed, so an upload that is really a playlist opens nothing else.
 *
 * @example
 * const darkroom = await createDarkroom({
 *   store,
 *   blobs,
 *   config: { video: { enabled: true } },
 *   frameExtractor: new FfmpegFrameExtractor({ ffmpegPath: '/usr/bin/ffmpeg' }),
 * })
 */
export class FfmpegFrameExtractor implements FrameExtractor {
  private readonly tools: Required<FfmpegFrameExtractorOptions>

  constructor(options: FfmpegFrameExtractorOptions = {}) {
    this.tools = {
      ffmpegPath: options.ffmpegPath ?? 'ffmpeg',
      ffprobePath: options.ffprobePath ?? 'ffprobe',
      timeoutMs: options.timeoutMs ?? 120_000,
    }
  }

  check(): Promise<void> {
    return assertVideoTools(this.tools)
  }

  probe(video: VideoFile): Promise<VideoProbe> {
    return probeVideo(video, this.tools)
  }

  checkIntegrity(video: VideoFile, probe: VideoProbe): Promise<void> {
    return checkVideoIntegrity(video, probe, this.tools)
  }

  extractPoster(video: VideoFile, probe: VideoProbe): Promise<Poster> {
    return extractPoster(video, probe, this.tools)
  }
}
