import { open } from 'node:fs/promises'
import { SNIFF_BYTES, sniffMimeType, type DarkroomConfig } from '@darkroom/core'

/**
 * The events API's `general_allowed_file_types` (`jpg,jpeg,png,gif,webp` by default): file
 * extensions, as its settings name them, narrowing what the engine accepts. A file's type is
 * decided from its first bytes exactly as ingest decides it (`sniffMimeType`), never from its
 * name or the client's mime type; the extension list only says which types are welcome.
 */

/** The extensions the setting may name, and the type each stands for. */
const TYPE_OF_EXTENSION: Readonly<Record<string, string>> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  heic: 'image/heic',
  heif: 'image/heif',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  mp4: 'video/mp4',
  webm: 'video/webm',
  mov: 'video/quicktime',
  avi: 'video/x-msvideo',
}

export const DEFAULT_ALLOWED_FILE_TYPES = ['jpg', 'jpeg', 'png', 'gif', 'webp'] as const

/** The allowed types, as the profile checks them. */
export interface AllowedTypes {
  /** The setting's extensions, for messages. */
  extensions: readonly string[]
  mimeTypes: ReadonlySet<string>
}

/**
 * The types a file may have: those the extensions name, plus the engine's video types when video
 * is on (videos are governed by the video settings, as in the seed's "Video specifics").
 * Throws a `TypeError` naming an extension it does not know.
 */
export function allowedTypes(extensions: readonly string[], config: DarkroomConfig): AllowedTypes {
  const normalized = extensions.map((e) => e.trim().toLowerCase().replace(/^\./, ''))
  const unknown = normalized.filter((e) => !(e in TYPE_OF_EXTENSION))
  if (unknown.length > 0 || normalized.length === 0) {
    throw new TypeError(
      `events profile: unknown file types ${JSON.stringify(unknown)} in allowedFileTypes; known: ${Object.keys(TYPE_OF_EXTENSION).join(', ')}`,
    )
  }
  const videos = config.video.enabled ? config.video.mimeTypes : []
  return {
    extensions: normalized,
    mimeTypes: new Set([...normalized.map((e) => TYPE_OF_EXTENSION[e]!), ...videos]),
  }
}

/** Why the file at `path` is refused for its type, or null when its type is allowed. */
export async function typeRefusal(path: string, allowed: AllowedTypes): Promise<string | null> {
  const mimeType = (await sniffMimeType(await readHead(path)))?.mimeType
  if (mimeType && allowed.mimeTypes.has(mimeType)) return null
  return `The file is ${mimeType ?? 'of an unknown type'}; allowed file types: ${allowed.extensions.join(', ')}.`
}

async function readHead(path: string): Promise<Uint8Array> {
  const file = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES)
    const { bytesRead } = await file.read(buffer, 0, SNIFF_BYTES, 0)
    return buffer.subarray(0, bytesRead)
  } finally {
    await file.close()
  }
}
