import { DarkroomError, type Caller, type Photo } from '@darkroom/core'
import { z } from 'zod'
import { parseInput } from '../api/json-body.js'
import { toHttpError } from '../errors.js'
import { json } from '../internal/responses.js'
import type { Profile, ProfileDeps, ProfileRequest, ProfileRoute } from './profile.js'

/**
 * Seed 001, an album photo service of owners and groups: `/v1/Photo/{photo uuid}` with GET (the
 * photo item), DELETE and PUT (move or copy to another group), on Darkroom's photos.
 *
 * - A group is an album (`GroupId` = `albumId`); a photo in no album has `GroupId: null`.
 * - DELETE puts the photo in the trash: its owner still reads it, with `Deleted: true`, until the
 *   retention purges it (Darkroom's `photos.restore` takes it back out).
 * - `Medium`, `Original`, `Small`, `Watermark`, `WatermarkSmall` are the paths of Darkroom's
 *   renditions (the URL's path, without `publicBaseUrl`'s origin); `Region` (the `region`
 *   option) tells a client which host to put before them. `Watermark*` are null unless the
 *   engine has a watermark configured.
 * - `SortOrder` is the filename, as the seed says it tends to be; Darkroom's own order inside
 *   an album (`position`) is upload order changed by `photos.reorder`, not the filename.
 * - Errors keep their HTTP status (401, 403, 404, 409, 422 ...) with `{ "Error": "..." }`,
 *   where the seed shows `Error` only beside a 200.
 */

export interface GroupsProfileOptions {
  /** The `Region` every photo reports: which host serves its URL suffixes. Default `local`. */
  region?: string
}

/**
 * The profile with its own options; `groupsProfile` (`profiles: ['groups']`) is this with the
 * defaults.
 *
 * @example
 * createDarkroomHandler({ ...options, profiles: [createGroupsProfile({ region: 'eu-west' })] })
 */
export function createGroupsProfile(options: GroupsProfileOptions = {}): Profile {
  const region = options.region ?? 'local'
  if (typeof region !== 'string' || region.trim() === '') {
    throw new TypeError('createGroupsProfile: region must be a non-empty string')
  }
  return {
    name: 'groups',
    title: 'An album service of owners and groups: /v1/Photo/{id}',
    routes: (deps) => photoRoutes(deps, region),
    errorResponse,
  }
}

/** Seed 001 with the default region (`local`). */
export const groupsProfile: Profile = createGroupsProfile()

/** A photo item as the seed shows it, in its field order. */
export interface SeedPhoto {
  OwnerId: string
  GroupId: string | null
  PhotoId: string
  /** Unix seconds. */
  Created: number
  Medium: string | null
  Original: string
  Small: string | null
  Watermark: string | null
  WatermarkSmall: string | null
  Deleted: boolean
  SortOrder: string
  /** Width / height; null while the dimensions are unknown. */
  Ratio: number | null
  Region: string
  /** `#rrggbb`; null when it could not be computed. */
  Hue: string | null
}

/** A Darkroom photo in the seed's shape. */
export function toSeedPhoto(photo: Photo, region: string): SeedPhoto {
  const { variants } = photo
  return {
    OwnerId: photo.ownerId,
    GroupId: photo.albumId,
    PhotoId: photo.id,
    Created: Math.floor(Date.parse(photo.createdAt) / 1000),
    Medium: suffixOf(variants.medium),
    Original: suffixOf(variants.original)!,
    Small: suffixOf(variants.small),
    Watermark: suffixOf(variants.watermark),
    WatermarkSmall: suffixOf(variants.watermarkSmall),
    Deleted: photo.deletedAt !== null,
    SortOrder: photo.filename,
    Ratio: photo.ratio,
    Region: region,
    Hue: photo.hue,
  }
}

/** The document's one path: `/v1/Photo/<photo uuid>`. */
const PHOTO_PATH = '/v1/Photo/:id'

/** PUT's body: the group to move or copy to (null: out of any group), and whether to copy. */
const moveSchema = z.strictObject({
  GroupId: z.string().min(1).max(64).nullable(),
  DoCopy: z.boolean().optional(),
})

function photoRoutes(deps: ProfileDeps, region: string): ProfileRoute[] {
  const { photos } = deps.darkroom
  return [
    {
      method: 'GET',
      path: PHOTO_PATH,
      handle: async (request) => {
        const { caller, id } = await photoRequest(request)
        return json(200, toSeedPhoto(await photos.get(caller, { id }), region))
      },
    },
    {
      method: 'DELETE',
      path: PHOTO_PATH,
      handle: async (request) => {
        const { caller, id } = await photoRequest(request)
        await photos.delete(caller, { id })
        return json(200, {})
      },
    },
    {
      method: 'PUT',
      path: PHOTO_PATH,
      handle: async (request) => {
        const { caller, id } = await photoRequest(request)
        const input = parseInput(moveSchema, (await deps.readJson(request.request)) ?? {})
        // A copy adds a photo: it takes an upload token, as tRPC's and REST's copies do.
        if (input.DoCopy) await deps.limitUpload(request.request, caller)
        const moved = await photos.move(caller, {
          id,
          albumId: input.GroupId,
          copy: input.DoCopy ?? false,
        })
        return json(200, { PhotoId: moved.id })
      },
    },
  ]
}

/** The caller (401 without one) and the photo id; the seed's routes take no query parameter. */
async function photoRequest(request: ProfileRequest): Promise<{ caller: Caller; id: string }> {
  const caller = await request.requireCaller()
  const unknown = [...new Set(request.url.searchParams.keys())]
  if (unknown.length > 0) {
    throw DarkroomError.validation(
      unknown.map((key) => ({
        property: key,
        message: `Unknown query parameter "${key}".`,
        reason: 'unrecognized_keys',
      })),
      'Invalid input.',
    )
  }
  return { caller, id: request.params.id! }
}

/** A rendition's URL as a suffix: its path, without the origin `publicBaseUrl` may add. */
function suffixOf(url: string | null | undefined): string | null {
  if (!url) return null
  const parsed = new URL(url, 'http://suffix.invalid')
  return `${parsed.pathname}${parsed.search}`
}

/** Every error as `{ "Error": "<message>" }` with Darkroom's status for it (500 logged, unnamed). */
function errorResponse(error: unknown, deps: ProfileDeps): Response {
  const { status, body, headers } = toHttpError(error, deps.logger)
  return json(status, { Error: body.error.message }, headers)
}
