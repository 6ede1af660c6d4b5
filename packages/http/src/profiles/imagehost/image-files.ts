import { DarkroomError } from '@darkroom/core'
import { extensionOf } from '@darkroom/core/adapter-kit'
import { createPhotoRoute } from '../../photos.js'
import { withSessionCookie } from '../../session.js'
import type { ProfileDeps } from '../profile.js'

/**
 * `GET|HEAD /api/image/{id}.{ext}` (the original) and `/api/image/{id}_thumbnail.{ext}` (the
 * `small` variant), handed to Darkroom's own `/photos` route, so both answer exactly as it does:
 * the same access rule (the owner by API key, sign-in or key cookie; anyone for a public photo;
 * 404 for the rest), ETag and 304, ranges, a download counted for the original. Before that
 * this URL's own rule: `ext` must be the extension of the rendition's stored type (`jpg` or
 * `jpeg` for JPEG), else 404. The check answers in the profile's error shape; it opens the
 * rendition as `/photos` does for a conditional request (one byte, no download counted).
 */
export function createImageFileRoute(deps: ProfileDeps) {
  const authenticate = withSessionCookie(deps.authenticate)
  const photos = createPhotoRoute({
    darkroom: deps.darkroom,
    authenticate,
    // Never consulted: the URLs handed over carry no query, so no signature to check.
    signingSecret: '',
    ownerOf: (id) => deps.darkroom.photos.ownerOf(id),
    logger: deps.logger,
    clock: deps.clock,
  })

  /** `file`: the last path segment, `<id>.<ext>` or `<id>_thumbnail.<ext>`. */
  return async function imageFile(request: Request, file: string): Promise<Response> {
    const { id, variant, ext } = parseImageFile(file)
    const caller = await authenticate({ headers: request.headers })
    const probe = await deps.darkroom.photos.openBlob(caller, {
      id,
      variant,
      range: { start: 0, end: 0 },
      countDownload: false,
    })
    probe.stream.destroy()
    if (ext !== extensionOf(probe.mimeType) && !(ext === 'jpeg' && probe.mimeType === JPEG)) {
      throw DarkroomError.notFound('Image', file)
    }
    const path = `/photos/${id}/${variant}.${ext}`
    return photos(request, path, new URL(path, request.url))
  }
}

const JPEG = 'image/jpeg'
const IMAGE_FILE = /^([A-Za-z0-9_-]{1,64}?)(_thumbnail)?\.([a-z0-9]{1,5})$/

function parseImageFile(file: string): { id: string; variant: 'original' | 'small'; ext: string } {
  const match = IMAGE_FILE.exec(file)
  if (!match) throw DarkroomError.notFound('Image', file)
  return { id: match[1]!, variant: match[2] ? 'small' : 'original', ext: match[3]! }
}
