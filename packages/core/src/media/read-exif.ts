import type { GpsPosition, PhotoExif } from '../domain/types.js'
import { locateExifBlock } from './internal/exif-block.js'

/**
 * EXIF facts of a photo, read by exifr with one options object (below), hardened against what
 * cameras and hostile uploads put there.
 *
 * `takenAt` is the camera's wall-clock time, never converted: DateTimeOriginal with
 * OffsetTimeOriginal (OffsetTime belongs to ModifyDate and is not used), else CreateDate
 * (DateTimeDigitized) with OffsetTimeDigitized. Without an offset the time has none; it is not
 * UTC. Impossible dates (year 0, month 13, years outside 1800-2200) count as absent.
 */
export interface ExifFacts {
  /** `YYYY-MM-DDTHH:MM:SS`, plus `±HH:MM` when the camera recorded its offset. */
  takenAt: string | null
  /** Null when the file carries no EXIF block at all. */
  exif: PhotoExif | null
}

/**
 * The one exifr configuration: only the tags Darkroom keeps, raw date strings (`reviveValues:
 * false`), no thumbnail IFD1 (it holds a second Orientation that must not win), no XMP/IPTC/ICC,
 * and unmerged output so every tag is read from the IFD it belongs to.
 */
const EXIFR_OPTIONS = {
  tiff: true,
  ifd0: { pick: ['Make', 'Model'] },
  ifd1: false,
  exif: {
    pick: [
      'DateTimeOriginal',
      'OffsetTimeOriginal',
      'CreateDate',
      'OffsetTimeDigitized',
      'LensModel',
      'ISO',
      'ExposureTime',
      'FNumber',
      'FocalLength',
    ],
  },
  gps: { pick: ['GPSLatitude', 'GPSLatitudeRef', 'GPSLongitude', 'GPSLongitudeRef'] },
  interop: false,
  makerNote: false,
  userComment: false,
  xmp: false,
  icc: false,
  iptc: false,
  jfif: false,
  ihdr: false,
  translateKeys: true,
  translateValues: false,
  reviveValues: false,
  sanitize: true,
  mergeOutput: false,
  silentErrors: true,
}

const MAX_TEXT_LENGTH = 200
const NO_EXIF: ExifFacts = { takenAt: null, exif: null }

type Tags = Record<string, unknown>

interface ExifrOutput {
  ifd0?: Tags
  exif?: Tags
  gps?: Tags
}

/**
 * Reads `takenAt`, camera, lens, exposure and GPS. Never throws: unreadable or hostile metadata
 * yields nulls.
 *
 * @example
 * const { takenAt, exif } = await readExif(bytes)
 * // takenAt '2019-10-20T18:34:30+02:00', exif.gps { lat: 38.0466, lon: 12.9944 }
 */
export async function readExif(data: Uint8Array): Promise<ExifFacts> {
  // Loaded on first use, like sharp (see internal/load-sharp.ts); outside the `try`, so a broken
  // install fails loudly instead of reading as "no EXIF".
  const { default: exifr } = await import('exifr')
  try {
    const container = containerOf(data)
    if (!container) return NO_EXIF
    const block = locateExifBlock(data, container)
    // exifr reads JPEG and TIFF itself; WebP it does not know, and in HEIF it ignores the `iloc`
    // base offset, so for those two it gets the TIFF block found by our box walk. A PNG too: exifr
    // would walk every chunk and inflate the `iCCP` profile with `inflateSync` whatever the
    // options say (a 1.5 MB profile that inflates to 1.5 GB stalled the process for 8 s).
    const input = container === 'jpeg' || container === 'tiff' ? data : block
    if (!input) return NO_EXIF
    const output = ((await exifr.parse(input, EXIFR_OPTIONS)) ?? {}) as ExifrOutput
    const { ifd0 = {}, exif = {}, gps = {} } = output
    if (!block && Object.keys(ifd0).length + Object.keys(exif).length === 0) return NO_EXIF
    return {
      takenAt:
        takenAt(exif['DateTimeOriginal'], exif['OffsetTimeOriginal']) ??
        takenAt(exif['CreateDate'], exif['OffsetTimeDigitized']),
      exif: {
        make: text(ifd0['Make']),
        model: text(ifd0['Model']),
        lens: text(exif['LensModel']),
        iso: positive(exif['ISO'], 10_000_000),
        exposure: positive(exif['ExposureTime'], 100_000),
        fNumber: positive(exif['FNumber'], 1_000),
        focalLength: positive(exif['FocalLength'], 100_000),
        gps: position(gps['latitude'], gps['longitude']),
      },
    }
  } catch {
    return NO_EXIF
  }
}

type Container = 'jpeg' | 'png' | 'webp' | 'heif' | 'tiff'

function containerOf(data: Uint8Array): Container | null {
  const ascii = (start: number, end: number) => String.fromCharCode(...data.subarray(start, end))
  if (data[0] === 0xff && data[1] === 0xd8) return 'jpeg'
  if (ascii(0, 8) === '\x89PNG\r\n\x1a\n') return 'png'
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp'
  if (ascii(4, 8) === 'ftyp') return 'heif'
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return 'tiff'
  return null
}

const DATE_TIME = /^\s*(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})/
const OFFSET = /^\s*([+-])(\d{2}):(\d{2})\s*$/

function takenAt(dateTime: unknown, offset: unknown): string | null {
  if (typeof dateTime !== 'string') return null
  const match = DATE_TIME.exec(dateTime)
  if (!match) return null
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  if (year < 1800 || year > 2200 || month < 1 || month > 12 || day < 1) return null
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null
  if (hour > 23 || minute > 59 || second > 59) return null
  const wallClock = match.slice(1, 4).join('-') + 'T' + match.slice(4, 7).join(':')
  return wallClock + (formatOffset(offset) ?? '')
}

function formatOffset(offset: unknown): string | null {
  if (typeof offset !== 'string') return null
  const match = OFFSET.exec(offset)
  if (!match) return null
  const hours = Number(match[2])
  const minutes = Number(match[3])
  if (hours > 14 || minutes > 59) return null
  return `${match[1]}${match[2]}:${match[3]}`
}

function text(value: unknown): string | null {
  if (typeof value !== 'string') return null
  const clean = value.slice(0, MAX_TEXT_LENGTH * 4).replace(/[\u0000-\u001f\u007f]/g, '')
  const trimmed = clean.trim().slice(0, MAX_TEXT_LENGTH).trim()
  return trimmed === '' ? null : trimmed
}

function positive(value: unknown, max: number): number | null {
  const number = Array.isArray(value) ? value[0] : value
  if (typeof number !== 'number' || !Number.isFinite(number)) return null
  return number > 0 && number <= max ? number : null
}

/** Signed decimal degrees; null for NaN, out-of-range values and the (0, 0) placeholder. */
function position(lat: unknown, lon: unknown): GpsPosition | null {
  if (typeof lat !== 'number' || typeof lon !== 'number') return null
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return null
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) return null
  if (lat === 0 && lon === 0) return null
  return { lat, lon }
}
