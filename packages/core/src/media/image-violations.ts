import { DarkroomError } from '../errors.js'

/**
 * The refusals of image ingest, each a `VALIDATION` error on the `file` property with a
 * machine-readable `reason`, worded for the person who sent the file.
 */
export function invalidTypeError(mimeType: string, allowedMimeTypes: readonly string[]) {
  const allowed = allowedMimeTypes.map((type) => JSON.stringify(type)).join(', ')
  return fileError(
    'invalid_type',
    `The mime type of the file is invalid (${JSON.stringify(mimeType)}). ` +
      `Allowed mime types are ${allowed}.`,
  )
}

export function tooManyPixelsError(width: number, height: number, maxInputPixels: number) {
  return fileError(
    'too_many_pixels',
    `The image is too large (${width}x${height} pixels, ${megapixels(width * height)} MP). ` +
      `Allowed maximum is ${megapixels(maxInputPixels)} MP.`,
  )
}

/** An animation whose frames, decoded, would pass the pixel limit (a GIF bomb). */
export function tooManyFramesError(
  width: number,
  height: number,
  frames: number,
  maxInputPixels: number,
) {
  return fileError(
    'too_many_pixels',
    `The animation is too large (${frames} frames of ${width}x${height} pixels, ` +
      `${megapixels(width * height * frames)} MP in all). ` +
      `Allowed maximum is ${megapixels(maxInputPixels)} MP.`,
  )
}

/**
 * A file that breaks its own format in a way the structural pre-scan names (a GIF cut off, TIFF
 * directories in a loop): the reason of a damaged file, with what was found.
 */
export function brokenStructureError(mimeType: string, detail: string) {
  return fileError(
    'corrupt',
    `The file could not be read as ${mimeType}: it is damaged or truncated (${detail}).`,
  )
}

/** `cause` keeps the decoder's own complaint for the logs; it never reaches the message. */
export function corruptImageError(mimeType: string, cause?: unknown) {
  return fileError(
    'corrupt',
    `The file could not be read as ${mimeType}: it is damaged, truncated or not an image.`,
    cause,
  )
}

/**
 * A file whose structure is past one of `STRUCTURE_LIMITS` (a metadata bomb): refused before any
 * decoder reads it, under the reason of a damaged file, with the limit named.
 */
export function metadataLimitError(mimeType: string, found: string, limit: string) {
  return fileError(
    'corrupt',
    `The ${mimeType} file is refused before decoding: ${found} (the limit is ${limit}).`,
  )
}

export function unsupportedCompressionError(mimeType: string, compression: string) {
  return fileError(
    'unsupported_compression',
    `The ${mimeType} file uses ${compression}, which is not supported.`,
  )
}

function fileError(reason: string, message: string, cause?: unknown): DarkroomError {
  const error = DarkroomError.validation([{ property: 'file', message, reason }])
  // Set the way the Error constructor sets it: own, non-enumerable.
  if (cause !== undefined) {
    Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true })
  }
  return error
}

function megapixels(pixels: number): string {
  const value = pixels / 1_000_000
  return String(value >= 100 ? Math.round(value) : Math.round(value * 10) / 10)
}
