import { DarkroomError, isPhotoReceipt, type Caller, type DarkroomConfig } from '@darkroom/core'
import { apiKeyAuthenticator } from '@darkroom/trpc'
import { parseInput } from '../api/json-body.js'
import { empty, json } from '../internal/responses.js'
import type { Profile, ProfileDeps, ProfileRequest, ProfileRoute } from './profile.js'
import { seedErrorResponse, SIGN_IN_REQUIRED } from './imagehost/errors.js'
import { createImageFileRoute } from './imagehost/image-files.js'
import {
  deleteBody,
  listQuery,
  noQuery,
  ORDER_BY,
  pagePath,
  parseQuery,
  patchBody,
  uuidQuery,
} from './imagehost/inputs.js'
import {
  imageFileUrl,
  toSeedDetail,
  toSeedHistoryImage,
  toSeedImage,
  type SeedLinks,
} from './imagehost/seed-image.js'
import { uploadImage, type ImageRules } from './imagehost/upload.js'

/**
 * The image host seed (`docs/profiles/imagehost.md`): uploads by sign-in, by guests and by API
 * key, the originals and thumbnails at `/api/image/...`, a detail, pages of the caller's images
 * and their history, changes and deletion, all on core's photo services with the request's
 * caller. Errors are Symfony's (see `imagehost/errors.ts`).
 *
 * Who may call what: the seed's "JWT" routes take whoever the handler's authentication finds
 * (an API key, or the app's own sign-in); `/api/external/upload` takes an API key (`sk_...`)
 * only; `/api/guest/upload` anyone, as the guest owner, when the handler has guest uploads on
 * (403 otherwise). Guest uploads are public: the id is all the uploader keeps.
 */

export interface ImagehostOptions {
  /**
   * The types an upload may have, found from its bytes, in the order a refusal lists them;
   * each one the engine allows (`allowedMimeTypes` of its config). Default: JPEG, PNG, WebP, GIF.
   */
  allowedMimeTypes?: readonly string[]
  /** The largest upload in bytes, at most the engine's `limits.maxFileBytes` (the default). */
  maxFileBytes?: number
}

const DEFAULT_MIME_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'] as const

/** Images on the list page unless `limit` says otherwise, and on every history page. */
const LIST_LIMIT = 10
const HISTORY_LIMIT = 12

/**
 * The profile with its own upload rules; `imagehostProfile` is the one with the defaults.
 *
 * @example
 * createDarkroomHandler({ ...options, profiles: [createImagehostProfile({ maxFileBytes: 1_000_000 })] })
 */
export function createImagehostProfile(options: ImagehostOptions = {}): Profile {
  return {
    name: 'imagehost',
    title: 'An image host: /api/upload, /api/images/{page}, /api/image/{id}/detail ...',
    routes: (deps) => imagehostRoutes(deps, resolveRules(options, deps.darkroom.config)),
    errorResponse: (error, deps) => seedErrorResponse(error, deps.logger),
  }
}

export const imagehostProfile: Profile = createImagehostProfile()

function imagehostRoutes(deps: ProfileDeps, rules: ImageRules): ProfileRoute[] {
  const { darkroom } = deps
  const links: SeedLinks = {
    handlerBase: deps.basePath,
    profileBase: deps.basePath + deps.profileBase,
  }
  const apiKeys = apiKeyAuthenticator(deps.serverStore, { clock: deps.clock })
  const imageFile = createImageFileRoute(deps)
  const upload = ['POST', 'PUT'] as const

  return [
    {
      method: upload,
      path: '/api/upload',
      handle: async (req) => {
        const caller = await signedIn(req)
        parseQuery(noQuery, req.url)
        const photo = await uploadImage(deps, req.request, { caller, rules, isPublic: false })
        return json(201, { id: photo.id })
      },
    },
    {
      method: upload,
      path: '/api/guest/upload',
      handle: async (req) => {
        if (!deps.guestCaller) throw new DarkroomError('FORBIDDEN', 'Guest uploads are disabled.')
        parseQuery(noQuery, req.url)
        const caller = deps.guestCaller
        const photo = await uploadImage(deps, req.request, { caller, rules, isPublic: true })
        return json(201, { id: photo.id })
      },
    },
    {
      method: upload,
      path: '/api/external/upload',
      handle: async (req) => {
        const caller = await apiKeys({ headers: req.request.headers })
        if (!caller) {
          throw new DarkroomError(
            'UNAUTHORIZED',
            'An API key is required (Authorization: Bearer sk_...).',
          )
        }
        parseQuery(noQuery, req.url)
        const photo = await uploadImage(deps, req.request, { caller, rules, isPublic: false })
        // A key without photos.read gets the id only: the URLs name the stored type.
        if (isPhotoReceipt(photo)) return json(201, { id: photo.id })
        return json(201, {
          id: photo.id,
          url: imageFileUrl(links, photo, 'original'),
          thumbnailUrl: imageFileUrl(links, photo, 'small'),
        })
      },
    },
    {
      method: 'GET',
      path: '/api/image/:file',
      handle: async (req) => {
        parseQuery(noQuery, req.url)
        return imageFile(req.request, req.params.file!)
      },
    },
    {
      method: 'GET',
      path: '/api/image/:id/detail',
      handle: async (req) => {
        const caller = await signedIn(req)
        parseQuery(noQuery, req.url)
        const id = req.params.id!
        const read = await darkroom.photos.get(caller, { id })
        // A view is someone else's: the owner looking at their own image is not counted.
        const photo =
          read.ownerId === caller.ownerId
            ? read
            : await darkroom.photos.get(caller, { id, countView: true })
        return json(200, toSeedDetail(photo, links))
      },
    },
    {
      method: 'PATCH',
      path: '/api/image/:id',
      handle: async (req) => {
        const caller = await signedIn(req)
        parseQuery(noQuery, req.url)
        const patch = parseInput(patchBody, await deps.readJson(req.request))
        await darkroom.photos.update(caller, { ...patch, id: req.params.id! })
        return empty(204)
      },
    },
    {
      method: 'DELETE',
      path: '/api/image/:id',
      handle: async (req) => {
        const caller = await signedIn(req)
        parseQuery(noQuery, req.url)
        const body = parseInput(deleteBody, await deps.readJson(req.request))
        await darkroom.photos.delete(caller, {
          id: req.params.id!,
          hard: true,
          preserveOnDisk: body?.preserveOnDisk ?? false,
        })
        return empty(204)
      },
    },
    {
      method: 'GET',
      path: '/api/images/:page',
      handle: async (req) => {
        const caller = await signedIn(req)
        const { page } = parseInput(pagePath, req.params)
        const query = parseQuery(listQuery, req.url)
        const limit = query.limit ?? LIST_LIMIT
        // A cursor says where the page starts; `page` is then only echoed.
        const { items, total, nextCursor } = await darkroom.photos.list(caller, {
          sort: ORDER_BY[query.orderBy ?? 'attributes.updatedAt'],
          limit,
          ...(query.searchTerm ? { search: query.searchTerm } : {}),
          ...(query.cursor ? { cursor: query.cursor } : { offset: (page - 1) * limit }),
        })
        return json(200, {
          meta: { size: limit, page, total, nextCursor, prevCursor: null },
          data: items.map(toSeedImage),
        })
      },
    },
    {
      method: 'GET',
      path: '/api/images',
      handle: async (req) => {
        const caller = await signedIn(req)
        const query = parseQuery(uuidQuery, req.url)
        const photos = await darkroom.photos.getMany(caller, { ids: query['uuid[]'] ?? [] })
        return json(200, photos.map(toSeedImage))
      },
    },
    {
      method: 'GET',
      path: '/api/images/history/:page',
      handle: async (req) => {
        const caller = await signedIn(req)
        const { page } = parseInput(pagePath, req.params)
        parseQuery(noQuery, req.url)
        // The history is the caller's uploads, newest first.
        const { items, total } = await darkroom.photos.list(caller, {
          sort: 'uploaded',
          limit: HISTORY_LIMIT,
          offset: (page - 1) * HISTORY_LIMIT,
        })
        return json(200, {
          meta: { size: HISTORY_LIMIT, page, total },
          data: items.map(toSeedHistoryImage),
        })
      },
    },
  ]
}

/** The caller the handler's authentication finds (the seed's JWT), or a 401. */
async function signedIn(req: ProfileRequest): Promise<Caller> {
  const caller = await req.caller()
  if (!caller) throw new DarkroomError('UNAUTHORIZED', SIGN_IN_REQUIRED)
  return caller
}

/** The options against the engine's config; a mismatch fails at mount, naming the option. */
function resolveRules(options: ImagehostOptions, config: DarkroomConfig): ImageRules {
  const allowedMimeTypes = options.allowedMimeTypes ?? DEFAULT_MIME_TYPES
  const foreign = allowedMimeTypes.filter((type) => !config.allowedMimeTypes.includes(type))
  if (allowedMimeTypes.length === 0 || foreign.length > 0) {
    throw new TypeError(
      `imagehost profile: allowedMimeTypes must be types the engine allows (${config.allowedMimeTypes.join(', ')}); got ${JSON.stringify(allowedMimeTypes)}`,
    )
  }
  const engineMax = config.limits.maxFileBytes
  const maxFileBytes = options.maxFileBytes ?? engineMax
  if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes < 1 || maxFileBytes > engineMax) {
    throw new TypeError(
      `imagehost profile: maxFileBytes must be a whole number from 1 to the engine's limits.maxFileBytes (${engineMax}); got ${maxFileBytes}`,
    )
  }
  return { allowedMimeTypes, maxFileBytes }
}
