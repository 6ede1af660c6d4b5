import type { Photo } from '@darkroom/core'

/**
 * A Darkroom photo in the image host's shapes: the list item (`/api/images/{page}`,
 * `/api/images?uuid[]=`), the history item (`/api/images/history/{page}`) and the detail
 * (`/api/image/{id}/detail`). The one place that knows the seed's field names and date formats.
 *
 * - Darkroom knows owners by id only (no e-mail, no names): `email` is null and `displayName`
 *   (and the history's `username`) is the owner id.
 * - Times are UTC: the detail's `2025-07-11T22:03:06.000000+00:00` (PHP's `Y-m-d\TH:i:s.uP`),
 *   the list's `Jan 15, 2024` (`M j, Y`), the history's `2025-07-11 22:03:06` (`Y-m-d H:i:s`),
 *   and `timestamp` in Unix seconds.
 * - `updatedAt` is null while the photo was never changed after its upload.
 */

export interface SeedOwner {
  id: string
  email: null
  displayName: string
}

export interface SeedHistoryOwner {
  id: string
  email: null
  username: string
  displayName: string
}

export interface SeedAttributes {
  fileName: string
  description: string
  isPublic: boolean
  createdAt: { formattedDate: string; timestamp: number }
  views: number
}

export interface SeedMetadata {
  size: number
  mimeType: string
  width: number | null
  height: number | null
}

export interface SeedImage {
  id: string
  owner: SeedOwner
  attributes: SeedAttributes
  metadata: SeedMetadata
}

export interface SeedHistoryImage {
  id: string
  attributes: SeedAttributes
  metadata: SeedMetadata
  owner: SeedHistoryOwner
}

export interface SeedImageDetail {
  id: string
  fileName: string
  description: string
  isPublic: boolean
  createdAt: string
  updatedAt: string | null
  views: number
  size: number
  mimeType: string
  width: number | null
  height: number | null
  supportsResize: boolean
  url: string
}

/** Where the profile's URLs point: the handler's base path, and the profile's own under it. */
export interface SeedLinks {
  /** The handler's base path (`/image/...` is Darkroom's own route, there). */
  handlerBase: string
  /** The handler's and the profile's base paths (`/api/image/...` is the profile's). */
  profileBase: string
}

/** The formats Darkroom's `/image` route renders: the original's own extension among them. */
const RESIZABLE_EXTENSIONS: ReadonlySet<string> = new Set(['jpg', 'png', 'webp', 'avif'])

export function toSeedImage(photo: Photo): SeedImage {
  return {
    id: photo.id,
    owner: { id: photo.ownerId, email: null, displayName: photo.ownerId },
    attributes: attributesOf(photo, formatListDate),
    metadata: metadataOf(photo),
  }
}

export function toSeedHistoryImage(photo: Photo): SeedHistoryImage {
  return {
    id: photo.id,
    attributes: attributesOf(photo, formatHistoryDate),
    metadata: metadataOf(photo),
    owner: { id: photo.ownerId, email: null, username: photo.ownerId, displayName: photo.ownerId },
  }
}

/**
 * The detail. `url` is Darkroom's resizing route (`/image/<id>.<ext>`) when it can render the
 * original's format (`supportsResize`), else the original as stored (`/api/image/<id>.<ext>`).
 */
export function toSeedDetail(photo: Photo, links: SeedLinks): SeedImageDetail {
  const ext = originalExtension(photo)
  const supportsResize = photo.kind === 'image' && RESIZABLE_EXTENSIONS.has(ext)
  return {
    id: photo.id,
    fileName: photo.filename,
    description: photo.description,
    isPublic: photo.isPublic,
    createdAt: formatDetailDate(photo.createdAt),
    updatedAt: photo.updatedAt === photo.createdAt ? null : formatDetailDate(photo.updatedAt),
    views: photo.views,
    size: photo.size,
    mimeType: photo.mimeType,
    width: photo.width,
    height: photo.height,
    supportsResize,
    url: supportsResize
      ? `${links.handlerBase}/image/${photo.id}.${ext}`
      : imageFileUrl(links, photo, 'original'),
  }
}

/**
 * `/api/image/<id>.<ext>` (the original), or `/api/image/<id>_thumbnail.<ext>` (the `small`
 * variant, in its own format); a photo stored without a `small` variant has the original as its
 * thumbnail.
 */
export function imageFileUrl(links: SeedLinks, photo: Photo, variant: 'original' | 'small') {
  const small = photo.variants.small
  return variant === 'small' && small
    ? `${links.profileBase}/api/image/${photo.id}_thumbnail.${extensionOfUrl(small)}`
    : `${links.profileBase}/api/image/${photo.id}.${originalExtension(photo)}`
}

function attributesOf(photo: Photo, format: (iso: string) => string): SeedAttributes {
  return {
    fileName: photo.filename,
    description: photo.description,
    isPublic: photo.isPublic,
    createdAt: {
      formattedDate: format(photo.createdAt),
      timestamp: Math.floor(Date.parse(photo.createdAt) / 1000),
    },
    views: photo.views,
  }
}

function metadataOf(photo: Photo): SeedMetadata {
  return { size: photo.size, mimeType: photo.mimeType, width: photo.width, height: photo.height }
}

/** The original's extension, as core names it in `variants.original` (`jpg`, `png` ...). */
function originalExtension(photo: Photo): string {
  return extensionOfUrl(photo.variants.original)
}

function extensionOfUrl(url: string): string {
  return url.slice(url.lastIndexOf('.') + 1)
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** `2025-07-11T19:03:06.123Z` → `2025-07-11T19:03:06.123000+00:00`. */
function formatDetailDate(iso: string): string {
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}000+00:00`
}

/** `2024-01-05T10:30:00.000Z` → `Jan 5, 2024`. */
function formatListDate(iso: string): string {
  const date = new Date(iso)
  return `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}, ${date.getUTCFullYear()}`
}

/** `2025-07-11T19:03:06.123Z` → `2025-07-11 19:03:06`. */
function formatHistoryDate(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`
}
