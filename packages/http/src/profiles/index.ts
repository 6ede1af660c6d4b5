import { albumsProfile } from './albums.js'
import { eventsProfile } from './events.js'
import { groupsProfile } from './groups.js'
import { imagehostProfile } from './imagehost.js'
import type { Profile } from './profile.js'
import { socialProfile } from './social.js'

export type { Profile, ProfileDeps, ProfileRequest, ProfileRoute } from './profile.js'

/**
 * The seed APIs Darkroom serves verbatim, by name. Each is opt-in:
 * `createDarkroomHandler({ profiles: ['events'] })`, or `PROFILES=events` for the server.
 */
export const PROFILES = {
  /** A social network's photos: `/api/v1/photos` (guid, post, dimensions, sizes). */
  social: socialProfile,
  /** An album service of owners and groups: `/v1/Photo/{id}` (OwnerId, GroupId, Watermark ...). */
  groups: groupsProfile,
  /** Event photo sharing: `/v1/events/{id}/photos`, chunked uploads, bulk delete, repair. */
  events: eventsProfile,
  /** An image host: `/api/upload`, `/api/images/{page}`, `/api/image/{id}/detail` ... */
  imagehost: imagehostProfile,
  /** A personal albums app: `/api/photos`, `/api/photos/upload|delete|move|dimensions`. */
  albums: albumsProfile,
} as const satisfies Record<string, Profile>

export type ProfileName = keyof typeof PROFILES

export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[]
