import { DarkroomError } from '../../errors.js'
import { ProcessError, runProcess } from './run-process.js'

/**
 * The start-up check of a video-enabled engine: ffmpeg and ffprobe must run. An engine that
 * advertises video but cannot ingest it would fail every video upload with a 500, so
 * `createDarkroom` refuses to start instead, with a `VALIDATION` error naming the config
 * property and how to fix it (the server prints it and exits; an embedding app catches a typed
 * error).
 */
export async function assertVideoTools(options: {
  ffmpegPath: string
  ffprobePath: string
  timeoutMs?: number
}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const checks = [
    { property: 'video.ffmpegPath', command: options.ffmpegPath, name: 'ffmpeg' },
    { property: 'video.ffprobePath', command: options.ffprobePath, name: 'ffprobe' },
  ]
  const violations = []
  for (const check of checks) {
    try {
      await runProcess(check.command, ['-version'], { timeoutMs, maxStdoutBytes: 1024 * 1024 })
    } catch (error) {
      const why =
        error instanceof ProcessError && error.reason === 'missing'
          ? 'was not found'
          : `does not run (${error instanceof Error ? error.message : String(error)})`
      violations.push({
        property: check.property,
        message:
          `Video is enabled but ${check.name} ${why} (${JSON.stringify(check.command)}). ` +
          `Install ffmpeg (Debian: apt-get install ffmpeg), set ${check.property} ` +
          `(FFMPEG_PATH/FFPROBE_PATH for the server), or disable video.`,
      })
    }
  }
  if (violations.length > 0) {
    throw DarkroomError.validation(violations, 'Video cannot be enabled.')
  }
}
