import { sanitizeFilename } from '@darkroom/core'
import { HttpProblem } from '../errors.js'

/**
 * `Upload-Metadata` as Darkroom reads it: `filename`, `albumId`, `category`, `pending`. The
 * header is parsed strictly (keys ASCII, values canonical base64 of valid UTF-8, at most 4 KB)
 * and a bad one is a 400. Only the sanitised known keys are kept; they are what the upload's
 * info file holds and what a HEAD echoes (base64-encoded), so a client's raw bytes never reach
 * a response header.
 */

export interface UploadMetadata {
  filename: string
  albumId: string | null
  category: string | null
  pending: boolean
}

export const MAX_METADATA_CHARS = 4096
const MAX_PAIRS = 32
const KEY = /^[\x21-\x2b\x2d-\x7e]{1,64}$/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069\u200e\u200f]/g
const utf8 = new TextDecoder('utf-8', { fatal: true })

export function parseUploadMetadata(header: string | null | undefined): UploadMetadata {
  const pairs = decodeHeader(header ?? '')
  const text = (key: string, max: number): string | null => {
    const value = pairs.get(key)
    if (value === undefined || value === null) return null
    const cleaned = value.replace(CONTROL, '').trim()
    if (cleaned.length > max)
      throw bad(`Upload-Metadata "${key}" is longer than ${max} characters.`)
    return cleaned === '' ? null : cleaned
  }
  const filename = sanitizeFilename(text('filename', 1024) ?? text('name', 1024) ?? '')
  const albumId = text('albumId', 64)
  if (albumId !== null && !/^[A-Za-z0-9_-]+$/.test(albumId)) {
    throw bad('Upload-Metadata "albumId" is not an album id.')
  }
  const category = text('category', 100)
  const pendingText = pairs.has('pending') ? (pairs.get('pending') ?? 'true') : 'false'
  const pending = parseBoolean(pendingText.trim().toLowerCase())
  if (pending === null) throw bad('Upload-Metadata "pending" must be true or false.')
  return { filename, albumId, category, pending }
}

/**
 * An `Upload-Metadata` header without its `filename` (and `name`) pairs, as answered to a caller
 * without `photos.read`; empty when nothing else is left.
 */
export function withoutFilename(header: string): string {
  return header
    .split(',')
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '' && !/^(filename|name)( |$)/.test(pair))
    .join(',')
}

/** The sanitised metadata as tus keeps it (values are strings). */
export function toTusMetadata(metadata: UploadMetadata): Record<string, string> {
  const out: Record<string, string> = { filename: metadata.filename }
  if (metadata.albumId !== null) out.albumId = metadata.albumId
  if (metadata.category !== null) out.category = metadata.category
  out.pending = metadata.pending ? 'true' : 'false'
  return out
}

/** Reads back what `toTusMetadata` stored. */
export function fromTusMetadata(stored: Record<string, string | null> | undefined): UploadMetadata {
  return {
    filename: sanitizeFilename(stored?.filename ?? ''),
    albumId: stored?.albumId ?? null,
    category: stored?.category ?? null,
    pending: stored?.pending === 'true',
  }
}

function decodeHeader(header: string): Map<string, string | null> {
  const pairs = new Map<string, string | null>()
  if (header.trim() === '') return pairs
  if (header.length > MAX_METADATA_CHARS) {
    throw bad(`Upload-Metadata is longer than ${MAX_METADATA_CHARS} characters.`)
  }
  const parts = header.split(',')
  if (parts.length > MAX_PAIRS) throw bad(`Upload-Metadata has more than ${MAX_PAIRS} keys.`)
  for (const part of parts) {
    const tokens = part.trim().split(' ')
    const [key, value] = tokens
    if (!key || !KEY.test(key) || tokens.length > 2 || pairs.has(key)) {
      throw bad('Upload-Metadata is not a list of "key base64value" pairs.')
    }
    if (value === undefined) {
      pairs.set(key, null)
      continue
    }
    if (value.length % 4 !== 0 || !BASE64.test(value)) {
      throw bad(`Upload-Metadata "${key}" is not valid base64.`)
    }
    let decoded: string
    try {
      decoded = utf8.decode(Buffer.from(value, 'base64'))
    } catch {
      throw bad(`Upload-Metadata "${key}" is not UTF-8 text.`)
    }
    pairs.set(key, decoded)
  }
  return pairs
}

function parseBoolean(value: string): boolean | null {
  if (['1', 'true', 'yes', ''].includes(value)) return true
  if (['0', 'false', 'no'].includes(value)) return false
  return null
}

function bad(message: string): HttpProblem {
  return new HttpProblem(400, 'BAD_REQUEST', message)
}
