import { crc32, deflateSync } from 'node:zlib'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { IMAGE_MIME_TYPES } from '../config.js'
import { DarkroomError } from '../errors.js'
import { FsScratchSpace, LibheifHeifDecoder } from '../node/index.js'
import { probeImage } from './probe-image.js'
import { readExif } from './read-exif.js'
import { renderImage } from './render-image.js'

// Hostile and broken uploads: forged EXIF, decompression bombs, wrong types, cut-off files.

const limits = { maxInputPixels: 150_000_000, allowedMimeTypes: IMAGE_MIME_TYPES }
const renderOptions = {
  presets: { small: { maxEdge: 32 } },
  format: 'webp' as const,
  quality: 80,
  effort: 2,
  watermark: null,
  heifDecoder: new LibheifHeifDecoder(),
  scratchSpace: new FsScratchSpace(),
}

type TiffValue =
  { ascii: string } | { short: number[] } | { long: number[] } | { rational: [number, number][] }
type Ifd = Record<number, TiffValue>

/** A little-endian TIFF structure with IFD0 and optional EXIF and GPS sub-IFDs. */
function makeTiffBlock(ifd0: Ifd, exif?: Ifd, gps?: Ifd): Buffer {
  const encode = (value: TiffValue): { type: number; count: number; bytes: Buffer } => {
    if ('ascii' in value) {
      const bytes = Buffer.from(value.ascii + '\0', 'latin1')
      return { type: 2, count: bytes.length, bytes }
    }
    if ('short' in value) {
      const bytes = Buffer.alloc(value.short.length * 2)
      value.short.forEach((v, i) => bytes.writeUInt16LE(v, i * 2))
      return { type: 3, count: value.short.length, bytes }
    }
    if ('long' in value) {
      const bytes = Buffer.alloc(value.long.length * 4)
      value.long.forEach((v, i) => bytes.writeUInt32LE(v, i * 4))
      return { type: 4, count: value.long.length, bytes }
    }
    const bytes = Buffer.alloc(value.rational.length * 8)
    value.rational.forEach(([n, d], i) => {
      bytes.writeUInt32LE(n, i * 8)
      bytes.writeUInt32LE(d, i * 8 + 4)
    })
    return { type: 5, count: value.rational.length, bytes }
  }
  const size = (ifd: Ifd) =>
    Object.values(ifd).reduce((sum, value) => {
      const { bytes } = encode(value)
      return sum + 12 + (bytes.length > 4 ? bytes.length + (bytes.length & 1) : 0)
    }, 2 + 4)
  const root: Ifd = { ...ifd0 }
  if (exif) root[0x8769] = { long: [0] }
  if (gps) root[0x8825] = { long: [0] }
  const exifAt = 8 + size(root)
  const gpsAt = exifAt + (exif ? size(exif) : 0)
  if (exif) root[0x8769] = { long: [exifAt] }
  if (gps) root[0x8825] = { long: [gpsAt] }
  const out = Buffer.alloc(gpsAt + (gps ? size(gps) : 0))
  out.write('II', 0, 'latin1')
  out.writeUInt16LE(42, 2)
  out.writeUInt32LE(8, 4)
  const write = (ifd: Ifd, at: number) => {
    const entries = Object.entries(ifd).sort(([a], [b]) => Number(a) - Number(b))
    out.writeUInt16LE(entries.length, at)
    let data = at + 2 + entries.length * 12 + 4
    entries.forEach(([tag, value], i) => {
      const entry = at + 2 + i * 12
      const { type, count, bytes } = encode(value)
      out.writeUInt16LE(Number(tag), entry)
      out.writeUInt16LE(type, entry + 2)
      out.writeUInt32LE(count, entry + 4)
      if (bytes.length <= 4) {
        bytes.copy(out, entry + 8)
      } else {
        out.writeUInt32LE(data, entry + 8)
        bytes.copy(out, data)
        data += bytes.length + (bytes.length & 1)
      }
    })
  }
  write(root, 8)
  if (exif) write(exif, exifAt)
  if (gps) write(gps, gpsAt)
  return out
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'latin1')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
  return Buffer.concat([head, data, crc])
}

/** A PNG with the given EXIF block in an eXIf chunk after IDAT (where libvips does not look). */
async function makePngWithExif(exif: Buffer): Promise<Buffer> {
  const png = await sharp({
    create: { width: 40, height: 20, channels: 3, background: '#808080' },
  })
    .png()
    .toBuffer()
  const iend = png.length - 12
  return Buffer.concat([png.subarray(0, iend), pngChunk('eXIf', exif), png.subarray(iend)])
}

/** Only a PNG header: IHDR declaring the size, an empty IDAT, IEND. */
function makePngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 2, 0, 0, 0], 8) // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(0))),
    pngChunk('IEND', Buffer.alloc(0)),
  ])
}

async function refusal(promise: Promise<unknown>): Promise<DarkroomError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(DarkroomError)
  expect((error as DarkroomError).code).toBe('VALIDATION')
  return error as DarkroomError
}

describe('hostile EXIF', () => {
  const hostile = makeTiffBlock(
    {
      0x010f: { ascii: 'M'.repeat(1_000_000) }, // Make
      0x0110: { ascii: '\u0001\u0002 Model \u0003 ' }, // Model with control characters
      0x0112: { short: [42] }, // Orientation
    },
    {
      0x9003: { ascii: '0000:00:00 00:00:00' }, // DateTimeOriginal
      0x9011: { ascii: '+99:99' }, // OffsetTimeOriginal
      0x9004: { ascii: '2021:02:30 10:00:00' }, // CreateDate, 30 February
      0x829a: { rational: [[1, 0]] }, // ExposureTime 1/0
      0x8827: { short: [0] }, // ISO
    },
    {
      0x0001: { ascii: 'N' },
      0x0002: {
        rational: [
          [1, 0],
          [0, 0],
          [0, 0],
        ],
      }, // latitude 1/0 degrees
      0x0003: { ascii: 'E' },
      0x0004: {
        rational: [
          [10, 1],
          [0, 1],
          [0, 1],
        ],
      },
    },
  )

  it('reads nulls from impossible dates, NaN GPS and zero values, and truncates huge strings', async () => {
    const png = await makePngWithExif(hostile)
    const facts = await readExif(png)
    expect(facts.takenAt).toBeNull()
    expect(facts.exif).not.toBeNull()
    expect(facts.exif?.make).toBe('M'.repeat(200))
    expect(facts.exif?.model).toBe('Model')
    expect(facts.exif?.gps).toBeNull()
    expect(facts.exif?.exposure).toBeNull()
    expect(facts.exif?.iso).toBeNull()
  })

  it('treats Orientation 42 as unknown: no swap, no turn', async () => {
    const png = await makePngWithExif(hostile)
    const probe = await probeImage(png, limits)
    expect(probe).toMatchObject({ orientation: null, width: 40, height: 20 })
    const { variants } = await renderImage(png, probe, renderOptions)
    expect(variants[0]).toMatchObject({ width: 32, height: 16 })
  })

  it('drops out-of-range GPS and the (0, 0) placeholder', async () => {
    for (const [lat, lon] of [
      [
        [95, 1],
        [0, 1],
      ],
      [
        [0, 1],
        [0, 1],
      ],
    ] as const) {
      const block = makeTiffBlock({ 0x010f: { ascii: 'Cam' } }, undefined, {
        0x0001: { ascii: 'N' },
        0x0002: { rational: [[...lat], [0, 1], [0, 1]] },
        0x0003: { ascii: 'E' },
        0x0004: { rational: [[...lon], [0, 1], [0, 1]] },
      })
      const facts = await readExif(await makePngWithExif(block))
      expect(facts.exif?.make).toBe('Cam')
      expect(facts.exif?.gps).toBeNull()
    }
  })

  it('never throws on garbage, truncated EXIF or a bare TIFF header', async () => {
    const block = makeTiffBlock({ 0x010f: { ascii: 'Cam' } }, { 0x9003: { ascii: 'x' } })
    for (const bytes of [
      Buffer.alloc(0),
      Buffer.from('hello world'),
      block.subarray(0, 12),
      Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 0x45, 0x78, 0x69, 0x66, 0, 0, 0x49, 0x49]),
      Buffer.from([0, 0, 0, 24, 0x66, 0x74, 0x79, 0x70, 0x68, 0x65, 0x69, 0x63]),
    ]) {
      await expect(readExif(bytes)).resolves.toMatchObject({ takenAt: null })
    }
  })
})

describe('decompression bombs', () => {
  it('refuses a PNG header declaring 50000x50000 before decoding, quickly and in little memory', async () => {
    const png = makePngHeader(50_000, 50_000)
    expect(png.length).toBeLessThan(100)
    const rssBefore = process.memoryUsage().rss
    const started = performance.now()
    const error = await refusal(probeImage(png, limits))
    expect(performance.now() - started).toBeLessThan(500)
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024)
    expect(error.violations).toEqual([
      {
        property: 'file',
        reason: 'too_many_pixels',
        message: 'The image is too large (50000x50000 pixels, 2500 MP). Allowed maximum is 150 MP.',
      },
    ])
  })

  it('the limit is the configured one', async () => {
    const png = makePngHeader(2_000, 1_000)
    await expect(probeImage(png, limits)).resolves.toMatchObject({ width: 2000, height: 1000 })
    const error = await refusal(probeImage(png, { ...limits, maxInputPixels: 1_500_000 }))
    expect(error.violations[0]?.message).toContain('Allowed maximum is 1.5 MP')
  })
})

describe('wrong types', () => {
  const allowedList =
    'Allowed mime types are "image/jpeg", "image/png", "image/gif", "image/webp", ' +
    '"image/avif", "image/heic", "image/heif", "image/tiff".'

  it.each([
    ['a PDF', 'application/pdf', '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n'],
    ['an HTML page', 'text/html', '<!DOCTYPE html>\n<html><body><img src=x></body></html>\n'],
    ['an SVG', 'image/svg+xml', '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'],
    ['an XML file', 'application/xml', '<?xml version="1.0"?>\n<note><to>you</to></note>'],
    ['plain text', 'text/plain', 'just some words\n'],
    ['random bytes', 'application/octet-stream', '\u0000\u0001\u0002\u0003garbage\u0000'],
  ])('refuses %s as invalid_type naming %s', async (_, mimeType, content) => {
    const error = await refusal(probeImage(Buffer.from(content, 'latin1'), limits))
    expect(error.violations).toEqual([
      {
        property: 'file',
        reason: 'invalid_type',
        message: `The mime type of the file is invalid ("${mimeType}"). ${allowedList}`,
      },
    ])
  })

  it('refuses an image type that is not allowed, listing the allowed ones', async () => {
    const gif = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
      .gif()
      .toBuffer()
    const error = await refusal(
      probeImage(gif, { ...limits, allowedMimeTypes: ['image/jpeg', 'image/png', 'video/mp4'] }),
    )
    expect(error.violations[0]).toMatchObject({
      reason: 'invalid_type',
      message:
        'The mime type of the file is invalid ("image/gif"). ' +
        'Allowed mime types are "image/jpeg", "image/png".',
    })
  })
})

describe('cut-off and damaged files', () => {
  it('refuses a JPEG cut inside its header as corrupt, naming the type', async () => {
    const jpeg = await sharp({
      create: { width: 64, height: 64, channels: 3, background: '#123456' },
    })
      .jpeg()
      .withExif({ IFD0: { Make: 'x'.repeat(2000) } })
      .toBuffer()
    const error = await refusal(probeImage(jpeg.subarray(0, 600), limits))
    expect(error.violations[0]).toMatchObject({ reason: 'corrupt' })
    expect(error.violations[0]?.message).toContain('image/jpeg')
  })

  it.each(['jpeg', 'png'] as const)(
    'a %s cut in its pixel data is probed, then refused as corrupt by the render',
    async (format) => {
      const noise = { type: 'gaussian' as const, mean: 128, sigma: 50 }
      const full = await sharp({
        create: { width: 300, height: 200, channels: 3, background: '#000', noise },
      })
        .toFormat(format)
        .toBuffer()
      const cut = full.subarray(0, Math.floor(full.length / 2))
      const probe = await probeImage(cut, limits)
      expect(probe).toMatchObject({ width: 300, height: 200 })
      const error = await refusal(renderImage(cut, probe, renderOptions))
      expect(error.violations[0]).toMatchObject({ reason: 'corrupt' })
    },
  )

  it('refuses a HEIF whose boxes lie about their sizes', async () => {
    const ftyp = Buffer.from(
      '000000186674797068656963000000006d696631686569 63'.replace(/ /g, ''),
      'hex',
    )
    const meta = Buffer.alloc(40)
    meta.writeUInt32BE(4000, 0) // overruns the file
    meta.write('meta', 4, 'latin1')
    const error = await refusal(probeImage(Buffer.concat([ftyp, meta]), limits))
    expect(error.violations[0]).toMatchObject({ reason: 'corrupt' })
    expect(error.violations[0]?.message).toContain('image/heic')
  })
})
