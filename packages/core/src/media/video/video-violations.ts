import { DarkroomError } from '../../errors.js'

/**
 * A video ffprobe/ffmpeg cannot read (truncated, damaged, not really a video): `VALIDATION` on
 * `file` with reason `corrupt`. The tool's own complaint stays in `cause`, for the logs; it never
 * reaches the message a client sees.
 */
export function corruptVideoError(mimeType: string, cause?: unknown): DarkroomError {
  const error = DarkroomError.validation([
    {
      property: 'file',
      message: `The file could not be read as ${mimeType}: it is damaged, truncated or not a video.`,
      reason: 'corrupt',
    },
  ])
  if (cause !== undefined) {
    Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true })
  }
  return error
}
