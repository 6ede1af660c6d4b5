import { maxUploadBytes } from '../../config.js'
import { DarkroomError } from '../../errors.js'
import type { Caller } from '../../domain/types.js'
import { requireScope } from '../../internal/access.js'
import { tooLargeMessage } from '../../internal/bytes.js'
import { invalidTypeError } from '../../media/image-violations.js'
import type { ServiceContext } from '../context.js'
import { allowedUploadTypes, identify } from './ingest/identify.js'
import { assertRoom } from './room.js'
import { loadOwnAlbum } from './shared.js'

export interface PrecheckInput {
  albumId?: string | null
  /** Declared size in bytes (tus Upload-Length), when known. */
  size?: number | null
  /** The first bytes of the file (4100 are enough), when they have arrived. */
  head?: Uint8Array
  /**
   * Fewer types than the engine accepts, for an edge whose API has its own list: the type found
   * must be in both, and a refusal names this list (in its order). Default: the engine's types.
   */
  allowedMimeTypes?: readonly string[]
}

/**
 * The size limit depends on the type, which only the first bytes tell: before they arrive (a
 * tus creation) the larger of the image and video limits applies; with them, the limit of the
 * type found (`video.maxFileBytes` for an allowed video, `limits.maxFileBytes` otherwise).
 */

/**
 * Refuses an upload before its bytes flow (a resumable upload at creation, or at its first
 * chunk): too large, album not the caller's, album at its cap, owner over quota, or a type that
 * is not allowed. Advisory: the authoritative cap and quota checks run again, in the ingest's
 * transaction, when the upload finishes.
 */
export async function precheck(
  ctx: ServiceContext,
  caller: Caller,
  input: PrecheckInput,
): Promise<void> {
  requireScope(caller, 'photos.write')
  const { config } = ctx
  const sniffed =
    input.head && input.head.byteLength > 0 ? await identify(config, input.head) : null
  const maxBytes =
    sniffed === null
      ? maxUploadBytes(config)
      : sniffed.route === 'video'
        ? config.video.maxFileBytes
        : config.limits.maxFileBytes
  if (input.size === 0) {
    // A resumable upload declared empty would complete at creation with nothing to ingest.
    throw DarkroomError.validation([
      { property: 'file', message: 'The file is empty.', reason: 'corrupt' },
    ])
  }
  if (input.size != null && input.size > maxBytes) {
    const message = tooLargeMessage(input.size, maxBytes)
    throw new DarkroomError('PAYLOAD_TOO_LARGE', message, {
      violations: [{ property: 'file', message, reason: 'too_large' }],
    })
  }
  const album = input.albumId ? await loadOwnAlbum(ctx.store, caller, input.albumId) : null
  const room = { ownerId: caller.ownerId, album, addPhotos: 1, addBytes: input.size ?? 0 }
  await assertRoom(ctx, ctx.store, { ...room, lock: false })
  if (sniffed !== null) {
    const engine = allowedUploadTypes(config)
    const allowed = input.allowedMimeTypes?.filter((type) => engine.includes(type)) ?? engine
    // Which TIFF an unsettled TIFF head is, ingest tells from the whole file (see isTiffHeader).
    const mimeType =
      sniffed.mimeType === UNKNOWN && isTiffHeader(input.head!) ? TIFF : sniffed.mimeType
    if (!allowed.includes(mimeType)) throw invalidTypeError(mimeType, allowed)
  }
}

const UNKNOWN = 'application/octet-stream'
const TIFF = 'image/tiff'

/**
 * A TIFF header (`II*\0` or `MM\0*`) that the first bytes could not take further: its first IFD
 * may sit anywhere in the file (sharp writes it at the end), so only the whole file can tell
 * which TIFF it is. Where TIFF is allowed, ingest identifies it then (refusing it here would
 * refuse every such TIFF); where it is not, no TIFF-based type can be taken either.
 */
function isTiffHeader(head: Uint8Array): boolean {
  if (head.byteLength < 4) return false
  const [a, b, c, d] = head
  return (
    (a === 0x49 && b === 0x49 && c === 0x2a && d === 0) ||
    (a === 0x4d && b === 0x4d && c === 0 && d === 0x2a)
  )
}
