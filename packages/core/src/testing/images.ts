import sharp from 'sharp'

export interface MakeImageOptions {
  width?: number
  height?: number
  /** Fill colour, `#rrggbb`. */
  color?: string
  /** EXIF Orientation 1-8 written into IFD0. */
  orientation?: number
  /** `YYYY:MM:DD HH:MM:SS`, written as DateTimeOriginal. */
  dateTimeOriginal?: string
  /** `+02:00`, written as OffsetTimeOriginal. */
  offsetTimeOriginal?: string
  /** Written as OffsetTime (which must NOT be used for takenAt). */
  offsetTime?: string
  gps?: { lat: number; lon: number }
  make?: string
  model?: string
  /** Extra noise so that two images of one size get different bytes. */
  seed?: number
}

function dms(value: number): string {
  const abs = Math.abs(value)
  const deg = Math.floor(abs)
  const minFloat = (abs - deg) * 60
  const min = Math.floor(minFloat)
  const sec = Math.round((minFloat - min) * 60 * 10_000)
  return `${deg}/1 ${min}/1 ${sec}/10000`
}

function exifOf(o: MakeImageOptions) {
  const ifd0: Record<string, string> = {}
  if (o.make) ifd0.Make = o.make
  if (o.model) ifd0.Model = o.model
  const ifd2: Record<string, string> = {}
  if (o.dateTimeOriginal) ifd2.DateTimeOriginal = o.dateTimeOriginal
  if (o.offsetTimeOriginal) ifd2.OffsetTimeOriginal = o.offsetTimeOriginal
  if (o.offsetTime) ifd2.OffsetTime = o.offsetTime
  const ifd3: Record<string, string> = {}
  if (o.gps) {
    ifd3.GPSLatitudeRef = o.gps.lat >= 0 ? 'N' : 'S'
    ifd3.GPSLatitude = dms(o.gps.lat)
    ifd3.GPSLongitudeRef = o.gps.lon >= 0 ? 'E' : 'W'
    ifd3.GPSLongitude = dms(o.gps.lon)
  }
  return { IFD0: ifd0, IFD2: ifd2, IFD3: ifd3 }
}

function canvas(o: MakeImageOptions) {
  const width = o.width ?? 64
  const height = o.height ?? 48
  const base = sharp({
    create: { width, height, channels: 3, background: o.color ?? '#3a6ea5' },
  })
  if (o.seed === undefined) return base
  // A small square whose place depends on the seed makes the bytes unique.
  const size = Math.max(1, Math.min(8, width, height))
  const left = (o.seed * 7) % Math.max(1, width - size)
  const top = (o.seed * 13) % Math.max(1, height - size)
  return base.composite([
    {
      input: { create: { width: size, height: size, channels: 3, background: seedColor(o.seed) } },
      left,
      top,
    },
  ])
}

/** A colour per seed, so that two seeds never give the same pixels. */
function seedColor(seed: number): string {
  const value = (Math.imul(seed + 1, 2654435761) >>> 0) & 0xffffff
  return `#${value.toString(16).padStart(6, '0')}`
}

/** A JPEG made in memory, with the EXIF asked for. */
export async function makeJpeg(o: MakeImageOptions = {}): Promise<Buffer> {
  let img = canvas(o).jpeg({ quality: 85 }).withExif(exifOf(o))
  if (o.orientation !== undefined) img = img.withMetadata({ orientation: o.orientation })
  return img.toBuffer()
}

/** A PNG made in memory; with `alpha` it has a transparent half. */
export async function makePng(o: MakeImageOptions & { alpha?: boolean } = {}): Promise<Buffer> {
  if (!o.alpha) return canvas(o).png().toBuffer()
  const width = o.width ?? 64
  const height = o.height ?? 48
  const raw = Buffer.alloc(width * height * 4)
  for (let i = 0; i < width * height; i++) {
    raw[i * 4] = 200
    raw[i * 4 + 1] = 40
    raw[i * 4 + 2] = 40
    raw[i * 4 + 3] = i % width < width / 2 ? 255 : 0
  }
  return sharp(raw, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer()
}
