import { Readable } from 'node:stream'
import { DarkroomError } from '../errors.js'

/**
 * A file that is already on this machine's disk, whole (a finished tus upload): ingest reads it
 * where it is (a video is probed in place, never copied to a temp file first) and never removes
 * or changes it. Made by `localFile()`.
 */
export interface LocalFile {
  readonly kind: 'local-file'
  /** An absolute path. */
  readonly path: string
  /** Its size in bytes, when the caller knows it (limits are then checked before reading). */
  readonly size: number | null
}

/** A file's bytes as an upload takes them: in memory, a stream, or a file on disk. */
export type FileData = Uint8Array | Readable | AsyncIterable<Uint8Array> | LocalFile

/**
 * @example
 * await darkroom.photos.upload(me, { files: [{ filename: 'a.jpg', data: localFile(path, size) }] })
 */
export function localFile(path: string, size: number | null = null): LocalFile {
  if (typeof path !== 'string' || path.length === 0) {
    throw new TypeError('localFile: a path is required')
  }
  return Object.freeze({ kind: 'local-file', path, size })
}

export function isLocalFile(data: unknown): data is LocalFile {
  return (
    typeof data === 'object' &&
    data !== null &&
    (data as { kind?: unknown }).kind === 'local-file' &&
    typeof (data as { path?: unknown }).path === 'string'
  )
}

/** `2.14 MB`, `1 MB`, `512 KB`: the unit a person reads in an error message (1 MB = 1024²). */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  const rounded = unit === 0 ? String(value) : String(Math.round(value * 100) / 100)
  return `${rounded} ${units[unit]}`
}

export function tooLargeMessage(size: number | null, maxBytes: number): string {
  const sizeText = size === null ? `over ${formatBytes(maxBytes)}` : formatBytes(size)
  return `The file is too large (${sizeText}). Allowed maximum size is ${formatBytes(maxBytes)}.`
}

/**
 * Reads a file body into one Buffer, stopping as soon as it passes `maxBytes` (a stream is not
 * drained: a hostile upload costs at most `maxBytes` of memory). Throws `PAYLOAD_TOO_LARGE`.
 */
export async function readAll(
  data: Uint8Array | Readable | AsyncIterable<Uint8Array>,
  maxBytes: number,
): Promise<Buffer> {
  if (data instanceof Uint8Array) {
    if (data.byteLength > maxBytes) {
      throw new DarkroomError('PAYLOAD_TOO_LARGE', tooLargeMessage(data.byteLength, maxBytes))
    }
    return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  }
  const chunks: Buffer[] = []
  let total = 0
  const iterable = data as AsyncIterable<Uint8Array>
  try {
    for await (const chunk of iterable) {
      total += chunk.byteLength
      if (total > maxBytes) {
        throw new DarkroomError('PAYLOAD_TOO_LARGE', tooLargeMessage(null, maxBytes))
      }
      chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    }
  } finally {
    if (data instanceof Readable && !data.readableEnded) data.destroy()
  }
  return Buffer.concat(chunks, total)
}
