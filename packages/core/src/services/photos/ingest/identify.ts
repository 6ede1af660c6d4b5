import type { DarkroomConfig } from '../../../config.js'
import { sniffMimeType } from '../../../media/sniff-mime-type.js'

/** What a file is, from its bytes: its type and the way ingest takes it. */
export interface Identified {
  /** e.g. `image/jpeg`; `application/octet-stream` when nothing matches. */
  mimeType: string
  /**
   * `video` for an allowed video type (video enabled); `image` for everything else, including
   * types that are not allowed at all, which the image probe refuses naming the allowed ones.
   */
  route: 'image' | 'video'
  /**
   * Whether the bytes looked at settle the type. Only the whole file settles a TIFF (its first
   * IFD may sit at the end, and TIFF-based formats are told apart there) or bytes that named
   * nothing; every other type is named by its first bytes.
   */
  definitive: boolean
}

/**
 * The one look at an upload's bytes (file-type's magic numbers, never its name or the client's
 * mime type). Ingest calls it once per file and hands the answer down: the image probe and the
 * poster of a video do not sniff again. `bytes` should be the whole file when there is any
 * chance it is an image (the first IFD of a TIFF may sit at its very end); its first bytes are
 * enough to tell a video.
 */
export async function identify(config: DarkroomConfig, bytes: Uint8Array): Promise<Identified> {
  const mimeType = (await sniffMimeType(bytes))?.mimeType ?? 'application/octet-stream'
  return {
    mimeType,
    route: allowedVideoTypes(config).includes(mimeType) ? 'video' : 'image',
    definitive: !UNSETTLED.has(mimeType),
  }
}

const UNSETTLED = new Set(['application/octet-stream', 'image/tiff'])

/** The video types this config accepts: none unless video is enabled. */
export function allowedVideoTypes(config: DarkroomConfig): readonly string[] {
  return config.video.enabled ? config.video.mimeTypes : []
}

/** Every type an upload may have, for refusals that list them. */
export function allowedUploadTypes(config: DarkroomConfig): string[] {
  return [...new Set([...config.allowedMimeTypes, ...allowedVideoTypes(config)])]
}
