import type { Photo } from '../../client.js'
import { parse, positionals } from '../args.js'
import type { CommandContext } from '../context.js'
import { absoluteUrl, formatBytes } from '../format.js'

const ORIENTATIONS: Record<number, string> = {
  1: 'normal',
  2: 'mirrored',
  3: 'rotated 180°',
  4: 'mirrored vertically',
  5: 'mirrored, rotated 90° CCW',
  6: 'rotated 90° CW',
  7: 'mirrored, rotated 90° CW',
  8: 'rotated 90° CCW',
}

/** `show <id> [--json]`: one photo with its dimensions, EXIF facts, GPS and variant URLs. */
export async function showCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const parsed = parse(argv, {})
  const [id] = positionals(parsed.positionals, ['id'], 'show')
  const photo = await ctx.client.photos.get.query({ id: id! })
  if (ctx.json) {
    ctx.output.line(JSON.stringify(photo, null, 2))
    return 0
  }
  for (const line of describePhoto(photo, ctx.baseUrl)) ctx.output.line(line)
  return 0
}

export function describePhoto(photo: Photo, baseUrl: string): string[] {
  const exif = photo.exif
  const fields: [string, string | null][] = [
    ['id', photo.id],
    ['filename', photo.filename],
    ['album', photo.albumId ?? '(none)'],
    ['type', `${photo.mimeType} (${photo.kind}), ${formatBytes(photo.size)}`],
    [
      'dimensions',
      photo.width !== null && photo.height !== null
        ? `${photo.width} x ${photo.height} as displayed` +
          (photo.ratio !== null ? `, ratio ${photo.ratio.toFixed(3)}` : '')
        : 'unknown (run repair-dimensions)',
    ],
    [
      'orientation',
      photo.orientation === null
        ? null
        : `${photo.orientation} (${ORIENTATIONS[photo.orientation] ?? 'unknown'})`,
    ],
    ['taken', photo.takenAt],
    ['camera', [exif?.make, exif?.model].filter(Boolean).join(' ') || null],
    ['lens', exif?.lens ?? null],
    ['exposure', exposureOf(photo)],
    ['gps', exif?.gps ? mapLink(exif.gps.lat.toFixed(6), exif.gps.lon.toFixed(6)) : null],
    ['colour', photo.hue],
    ['checksum', `sha256 ${photo.checksum}`],
    [
      'state',
      [
        photo.hidden ? 'hidden' : 'visible',
        photo.isPublic ? 'public' : 'private',
        photo.pending && 'pending',
        photo.deletedAt && `in the trash since ${photo.deletedAt}`,
      ]
        .filter(Boolean)
        .join(', '),
    ],
    ['uploaded', photo.createdAt],
    [
      'counters',
      `${photo.views} views, ${photo.downloads} downloads, ${photo.likes} likes, ` +
        `${photo.commentCount} comments` +
        (photo.ratingAvg !== null
          ? `, rated ${photo.ratingAvg.toFixed(1)} (${photo.ratingCount})`
          : ''),
    ],
  ]
  const lines = fields
    .filter((f): f is [string, string] => f[1] !== null && f[1] !== '')
    .map(([name, value]) => `${name.padEnd(13)}${value}`)
  lines.push('variants')
  for (const [name, url] of Object.entries(photo.variants)) {
    if (url) lines.push(`  ${name.padEnd(11)}${absoluteUrl(baseUrl, url)}`)
  }
  return lines
}

function mapLink(lat: string, lon: string): string {
  return `${lat}, ${lon}  https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`
}

function exposureOf(photo: Photo): string | null {
  const exif = photo.exif
  if (!exif) return null
  const parts = [
    exif.exposure !== null
      ? exif.exposure < 1
        ? `1/${Math.round(1 / exif.exposure)} s`
        : `${exif.exposure} s`
      : null,
    exif.fNumber !== null ? `f/${exif.fNumber}` : null,
    exif.iso !== null ? `ISO ${exif.iso}` : null,
    exif.focalLength !== null ? `${exif.focalLength} mm` : null,
  ]
  return parts.filter(Boolean).join(', ') || null
}
