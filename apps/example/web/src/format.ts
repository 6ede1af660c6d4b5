import { thumbHashToDataURL } from 'thumbhash'
import type { Photo } from './types.js'

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`
  return `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds)
  const m = Math.floor(s / 60)
  const h = Math.floor(m / 60)
  const pad = (n: number) => String(n).padStart(2, '0')
  return h > 0 ? `${h}:${pad(m % 60)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`
}

/**
 * A capture time as the camera wrote it: `takenAt` keeps the wall-clock time and, when EXIF
 * had one, the offset; it is shown as is rather than moved into the viewer's time zone.
 */
export function formatTakenAt(takenAt: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.exec(
    takenAt,
  )
  if (!match) return takenAt
  const [, date, time, zone] = match
  return `${date} ${time}${zone ? ` (UTC${zone === 'Z' ? '' : zone})` : ''}`
}

export function formatExposure(seconds: number): string {
  return seconds >= 1 ? `${seconds} s` : `1/${Math.round(1 / seconds)} s`
}

/** What a picture says to someone who cannot see it: its description, else its file name. */
export function altText(photo: Photo): string {
  const description = photo.description.trim()
  if (description) return description
  const name = photo.filename.replace(/\.[A-Za-z0-9]{1,5}$/, '')
  return `${photo.kind === 'video' ? 'Video' : 'Photo'} ${name}`
}

const placeholders = new Map<string, string>()

/** The thumbhash as a tiny PNG data URL (memoised: a grid re-renders often). */
export function placeholderOf(photo: Photo): string | null {
  if (!photo.thumbhash) return null
  let url = placeholders.get(photo.thumbhash)
  if (url === undefined) {
    try {
      const bytes = Uint8Array.from(atob(photo.thumbhash), (c) => c.charCodeAt(0))
      url = thumbHashToDataURL(bytes)
    } catch {
      url = ''
    }
    placeholders.set(photo.thumbhash, url)
  }
  return url || null
}

/** `srcset` over the stored variants (small 320, medium 1024, large 2048 on the long edge). */
export function srcSetOf(photo: Photo): string | undefined {
  const long = Math.max(photo.width ?? 0, photo.height ?? 0)
  // A variant's width: its long edge is capped at the preset, and it is never upscaled.
  const widthAt = (edge: number) =>
    long ? Math.max(1, Math.round((photo.width ?? 0) * Math.min(1, edge / long))) : edge
  const entries: string[] = []
  const seen = new Set<number>()
  for (const [name, edge] of [
    ['small', 320],
    ['medium', 1024],
    ['large', 2048],
  ] as const) {
    const url = photo.variants[name]
    const width = widthAt(edge)
    if (!url || seen.has(width)) continue
    seen.add(width)
    entries.push(`${url} ${width}w`)
  }
  return entries.length > 0 ? entries.join(', ') : undefined
}

/** The smallest variant, for `src` (browsers without srcset, and the first paint). */
export function smallestOf(photo: Photo): string {
  return (
    photo.variants.small ?? photo.variants.medium ?? photo.variants.large ?? photo.variants.original
  )
}
