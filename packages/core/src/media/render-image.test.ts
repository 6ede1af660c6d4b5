import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { thumbHashToRGBA } from 'thumbhash'
import { describe, expect, it } from 'vitest'
import {
  configSchema,
  IMAGE_MIME_TYPES,
  type VariantPreset,
  type WatermarkConfig,
} from '../config.js'
import { FsScratchSpace, LibheifHeifDecoder } from '../node/index.js'
import { probeImage } from './probe-image.js'
import { readExif } from './read-exif.js'
import { jpegShrinkFactor, renderImage, type RenderImageOptions } from './render-image.js'

const limits = { maxInputPixels: 150_000_000, allowedMimeTypes: IMAGE_MIME_TYPES }
const RED = '#ff0000'
const BLUE = '#0000ff'

function options(
  presets: Record<string, VariantPreset>,
  more: Partial<RenderImageOptions> = {},
): RenderImageOptions {
  return {
    presets,
    format: 'webp',
    quality: 80,
    effort: 2,
    watermark: null,
    heifDecoder: new LibheifHeifDecoder(),
    scratchSpace: new FsScratchSpace(),
    ...more,
  }
}

/** Left half red, right half blue: a turn and a mirror can be told apart. */
function halves(width: number, height: number) {
  const half = { create: { width: width / 2, height, channels: 3 as const, background: BLUE } }
  return sharp({ create: { width, height, channels: 3, background: RED } }).composite([
    { input: half, left: width / 2, top: 0 },
  ])
}

async function render(bytes: Buffer, presets: Record<string, VariantPreset>) {
  const probe = await probeImage(bytes, limits)
  return { probe, ...(await renderImage(bytes, probe, options(presets))) }
}

/** Colour at a fraction of the variant's width and height, as 'r' or 'b' (or the raw RGB). */
async function colourAt(image: Buffer, fx: number, fy: number): Promise<string> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true })
  const x = Math.min(info.width - 1, Math.floor(info.width * fx))
  const y = Math.min(info.height - 1, Math.floor(info.height * fy))
  const [r, g, b] = data.subarray((y * info.width + x) * info.channels)
  if (r! > 200 && g! < 60 && b! < 60) return 'r'
  if (b! > 200 && r! < 60 && g! < 60) return 'b'
  return `${r},${g},${b}`
}

/** Top and bottom (or left and right) colours of a variant. */
async function layout(image: Buffer): Promise<string> {
  const [top, bottom, left, right] = await Promise.all([
    colourAt(image, 0.5, 0.1),
    colourAt(image, 0.5, 0.9),
    colourAt(image, 0.1, 0.5),
    colourAt(image, 0.9, 0.5),
  ])
  // Sampled across the middle, the other pair sits on the red/blue border.
  const leftRight = left !== right && [left, right].every((colour) => colour.length === 1)
  return leftRight ? `left ${left}, right ${right}` : `top ${top}, bottom ${bottom}`
}

/**
 * An AVIF whose primary item carries an `irot` box and nothing else turns it. sharp writes irot
 * only from an EXIF orientation, so the `pixi` property after `ispe` is rewritten in place into a
 * padded `irot`: the property index, and so its association with the primary, stay the same.
 */
async function makeAvifWithIrot(quarterTurns: 1 | 2 | 3): Promise<Buffer> {
  const avif = await halves(64, 32).avif({ quality: 90 }).toBuffer()
  const at = avif.indexOf('pixi', 0, 'latin1') - 4
  if (at < 0) throw new Error('sharp wrote no pixi property to rewrite')
  avif.write('irot', at + 4, 'latin1')
  avif.fill(0, at + 8, at + avif.readUInt32BE(at))
  avif[at + 8] = quarterTurns
  return avif
}

describe('renderImage', () => {
  it('renders every preset in its format and quality, never upscaled', async () => {
    const png = await halves(300, 200).png().toBuffer()
    const { variants } = await render(png, {
      small: { maxEdge: 64 },
      medium: { maxEdge: 128, format: 'jpeg', quality: 50 },
      large: { maxEdge: 1024, format: 'png' },
      huge: { maxEdge: 2048, format: 'avif' },
    })
    expect(
      variants.map(({ name, format, mimeType, width, height }) => ({
        name,
        format,
        mimeType,
        width,
        height,
      })),
    ).toEqual([
      { name: 'huge', format: 'avif', mimeType: 'image/avif', width: 300, height: 200 },
      { name: 'large', format: 'png', mimeType: 'image/png', width: 300, height: 200 },
      { name: 'medium', format: 'jpeg', mimeType: 'image/jpeg', width: 128, height: 85 },
      { name: 'small', format: 'webp', mimeType: 'image/webp', width: 64, height: 43 },
    ])
    for (const variant of variants) {
      const metadata = await sharp(variant.data).metadata()
      expect(metadata.format).toBe(variant.format === 'avif' ? 'heif' : variant.format)
      expect([metadata.width, metadata.height]).toEqual([variant.width, variant.height])
      expect(await layout(variant.data)).toBe('left r, right b')
    }
  })

  it("encodes WebP at the preset's effort, else the default; 2 by default, the small preset 4", async () => {
    // Photo-like content (upscaled noise): a flat image encodes the same at every effort.
    const noise = await sharp({
      create: {
        width: 60,
        height: 40,
        channels: 3,
        background: '#000',
        noise: { type: 'gaussian', mean: 120, sigma: 50 },
      },
    })
      .png()
      .toBuffer()
    const photo = await sharp(noise).resize(600, 400).png().toBuffer()
    const probe = await probeImage(photo, limits)
    const encoded = async (preset: VariantPreset, effort: number) =>
      (await renderImage(photo, probe, options({ v: preset }, { effort }))).variants[0]!.data
    const fastest = await encoded({ maxEdge: 256 }, 0)
    const smallest = await encoded({ maxEdge: 256 }, 6)
    expect(fastest.equals(smallest)).toBe(false)
    expect((await encoded({ maxEdge: 256, effort: 6 }, 0)).equals(smallest)).toBe(true)
    expect((await encoded({ maxEdge: 256, effort: 0 }, 6)).equals(fastest)).toBe(true)

    const { variants } = configSchema.parse({})
    expect(variants.effort).toBe(2)
    expect(variants.presets).toEqual({
      small: { maxEdge: 320, effort: 4 },
      medium: { maxEdge: 1024 },
      large: { maxEdge: 2048 },
    })
  })

  it('a camera JPEG: probe, EXIF and upright variants agree (orientation 6)', async () => {
    const jpeg = await halves(600, 400)
      .jpeg()
      .withExif({
        IFD0: { Make: 'Darkroom', Model: 'DR-1' },
        IFD2: {
          DateTimeOriginal: '2022:02:16 12:55:41',
          OffsetTimeOriginal: '+01:00',
          OffsetTime: '+09:00',
        },
        IFD3: {
          GPSLatitudeRef: 'N',
          GPSLatitude: '60/1 8/1 4814/100',
          GPSLongitudeRef: 'W',
          GPSLongitude: '24/1 54/1 2420/100',
        },
      })
      .withMetadata({ orientation: 6 })
      .toBuffer()
    const { probe, variants } = await render(jpeg, { small: { maxEdge: 120 } })
    expect(probe).toMatchObject({ storedWidth: 600, storedHeight: 400, orientation: 6 })
    expect(probe).toMatchObject({ width: 400, height: 600 })
    const facts = await readExif(jpeg)
    expect(facts.takenAt).toBe('2022-02-16T12:55:41+01:00')
    expect(facts.exif).toMatchObject({ make: 'Darkroom', model: 'DR-1' })
    expect(facts.exif?.gps?.lat).toBeCloseTo(60 + 8 / 60 + 48.14 / 3600, 9)
    expect(facts.exif?.gps?.lon).toBeCloseTo(-(24 + 54 / 60 + 24.2 / 3600), 9)
    expect(variants[0]).toMatchObject({ width: 80, height: 120 })
    // Orientation 6: the stored image is turned 90 degrees clockwise, so its left half is on top.
    expect(await layout(variants[0]!.data)).toBe('top r, bottom b')
  })

  it.each([
    [1, 'left r, right b'],
    [2, 'left b, right r'],
    [3, 'left b, right r'],
    [4, 'left r, right b'],
    [5, 'top r, bottom b'],
    [6, 'top r, bottom b'],
    [7, 'top b, bottom r'],
    [8, 'top b, bottom r'],
  ])('EXIF orientation %i is applied once', async (orientation, expected) => {
    const jpeg = await halves(60, 40).jpeg().withMetadata({ orientation }).toBuffer()
    const { variants } = await render(jpeg, { small: { maxEdge: 30 } })
    expect(await layout(variants[0]!.data)).toBe(expected)
    // the same as libvips' own autorotation of a valid orientation
    expect(expected).toBe(await layout(await sharp(jpeg).autoOrient().png().toBuffer()))
  })

  it('HEIF: irot alone turns the pixels once, anticlockwise (AVIF, decoded by sharp)', async () => {
    const { probe, variants } = await render(await makeAvifWithIrot(1), { s: { maxEdge: 64 } })
    expect(probe).toMatchObject({ rotation: 90, width: 32, height: 64 })
    expect(variants[0]).toMatchObject({ width: 32, height: 64 })
    expect(await layout(variants[0]!.data)).toBe('top b, bottom r')
  })

  it('HEIF as iPhones write it (irot 270 with EXIF 6) turns once, like the JPEG would', async () => {
    const avif = await halves(60, 40).avif().withMetadata({ orientation: 6 }).toBuffer()
    const { variants } = await render(avif, { s: { maxEdge: 60 } })
    expect(variants[0]).toMatchObject({ width: 40, height: 60 })
    expect(await layout(variants[0]!.data)).toBe('top r, bottom b')
  })

  it('HEIF: the EXIF Orientation alone is not applied', async () => {
    const avif = await halves(60, 40).avif().withMetadata({ orientation: 6 }).toBuffer()
    avif[avif.indexOf('irot', 0, 'latin1') + 4] = 0
    const { variants } = await render(avif, { s: { maxEdge: 60 } })
    expect(variants[0]).toMatchObject({ width: 60, height: 40 })
    expect(await layout(variants[0]!.data)).toBe('left r, right b')
  })

  it.each(['jpeg', 'png'] as const)(
    'converts an embedded ICC profile (Display P3 %s) to sRGB, as sharp does in one pass',
    async (format) => {
      const noise = { type: 'gaussian' as const, mean: 128, sigma: 70 }
      const source = await sharp({
        create: { width: 60, height: 40, channels: 4, background: '#000', noise },
      })
        .resize(600, 400)
        .toFormat(format)
        .withIccProfile('p3')
        .toBuffer()
      // Under half size, so this compares the colour handling alone (no DCT-scaled decode).
      const { variants } = await render(source, { s: { maxEdge: 320, format: 'png' } })
      const ours = await sharp(variants[0]!.data).raw().toBuffer({ resolveWithObject: true })
      const direct = await sharp(source)
        .resize(320, 320, { fit: 'inside' })
        .toColourspace('srgb')
        .raw()
        .toBuffer({ resolveWithObject: true })
      expect(ours.info).toMatchObject({ width: 320, height: 213, channels: direct.info.channels })
      let difference = 0
      for (let i = 0; i < ours.data.length; i++)
        difference += Math.abs(ours.data[i]! - direct.data[i]!)
      expect(difference / ours.data.length).toBeLessThan(1.5)
      // and the profile did change the pixels: P3 read as sRGB would be further off
      const untagged = await sharp(source, { ignoreIcc: true })
        .resize(320, 320, { fit: 'inside' })
        .raw()
        .toBuffer()
      let off = 0
      for (let i = 0; i < untagged.length; i++) off += Math.abs(untagged[i]! - direct.data[i]!)
      expect(off / untagged.length).toBeGreaterThan(2)
    },
  )

  it.each([
    // [long edge, target, expected]: 1 where sharp's own choice is already the best
    [6000, 2048, 2],
    [4096, 2048, 2],
    [4095, 2048, 1],
    [6144, 2048, 1],
    [8192, 2048, 4],
    [6000, 1024, 1],
    [3000, 1024, 2],
    [16384, 2048, 8],
    [20000, 2048, 1],
  ])(
    'asks libjpeg for a larger DCT scale only when sharp would not (%i px to %i)',
    (long, edge, want) => {
      const probe = { format: 'jpeg', storedWidth: long, storedHeight: Math.round(long / 1.5) }
      expect(jpegShrinkFactor(probe as never, edge)).toBe(want)
      expect(jpegShrinkFactor({ ...probe, format: 'png' } as never, edge)).toBe(1)
    },
  )

  it('a 24 MP JPEG decoded at 1/2 scale: same size and PSNR above 40 dB against a direct resize, upright', async () => {
    const noise = { type: 'gaussian' as const, mean: 120, sigma: 60 }
    const small = await sharp({
      create: { width: 600, height: 400, channels: 3, background: '#000', noise },
    })
      .png()
      .toBuffer()
    const pixels = await sharp(small).resize(6000, 4000, { kernel: 'cubic' }).toBuffer()
    const jpeg = await sharp(pixels)
      .jpeg({ quality: 92 })
      .withMetadata({ orientation: 6 })
      .toBuffer()
    // The shrink-on-load decode reads a copy in the scratch space, removed once decoded.
    const scratch = await mkdtemp(join(tmpdir(), 'darkroom-render-'))
    const spooled: string[] = []
    const scratchSpace = new FsScratchSpace({ directory: scratch })
    const spool = scratchSpace.spool.bind(scratchSpace)
    scratchSpace.spool = async (chunks, more) => {
      const file = await spool(chunks, more)
      spooled.push(file.path)
      return file
    }
    const probe = await probeImage(jpeg, limits)
    const presets = { large: { maxEdge: 2048, format: 'png' as const } }
    const { variants } = await renderImage(jpeg, probe, options(presets, { scratchSpace }))
    expect(jpegShrinkFactor(probe, 2048)).toBe(2)
    expect(spooled).toHaveLength(1)
    expect(spooled[0]).toMatch(/\.jpg$/)
    expect(await readdir(scratch)).toEqual([])
    await rm(scratch, { recursive: true })
    const ours = await sharp(variants[0]!.data).raw().toBuffer({ resolveWithObject: true })
    const direct = await sharp(jpeg)
      .rotate()
      .resize(2048, 2048, { fit: 'inside' })
      .raw()
      .toBuffer({ resolveWithObject: true })
    expect(ours.info).toMatchObject({ width: 1365, height: 2048 })
    expect(direct.info).toMatchObject({ width: 1365, height: 2048 })
    let squared = 0
    for (let i = 0; i < ours.data.length; i++) squared += (ours.data[i]! - direct.data[i]!) ** 2
    const psnr = 10 * Math.log10(255 ** 2 / (squared / ours.data.length))
    expect(psnr).toBeGreaterThan(40)
  })

  it('keeps alpha in WebP, PNG and AVIF, and flattens JPEG onto white', async () => {
    const png = await sharp({
      create: { width: 40, height: 40, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0 } },
    })
      .png()
      .toBuffer()
    const { variants } = await render(png, {
      webp: { maxEdge: 20, format: 'webp' },
      png: { maxEdge: 20, format: 'png' },
      avif: { maxEdge: 20, format: 'avif' },
      jpeg: { maxEdge: 20, format: 'jpeg' },
    })
    for (const variant of variants) {
      const { data, info } = await sharp(variant.data)
        .ensureAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true })
      const [r, g, b, a] = data.subarray(0, 4)
      if (variant.format === 'jpeg') {
        expect([r, g, b, a]).toEqual([255, 255, 255, 255])
      } else {
        expect((await sharp(variant.data).metadata()).hasAlpha).toBe(true)
        expect(a, variant.format).toBe(0)
      }
      expect(info.width).toBe(20)
    }
  })

  it('renders the first frame of an animated GIF', async () => {
    const frames = await Promise.all(
      [RED, BLUE, '#00ff00'].map((background) =>
        sharp({ create: { width: 20, height: 10, channels: 3, background } })
          .png()
          .toBuffer(),
      ),
    )
    const gif = await sharp(frames, { join: { animated: true } })
      .gif()
      .toBuffer()
    const { probe, variants } = await render(gif, { s: { maxEdge: 100, format: 'png' } })
    expect(probe.pages).toBe(3)
    expect(variants[0]).toMatchObject({ width: 20, height: 10 })
    expect(await colourAt(variants[0]!.data, 0.5, 0.5)).toBe('r')
  })

  it('derives a thumbhash and the dominant hue', async () => {
    const jpeg = await sharp({ create: { width: 300, height: 200, channels: 3, background: RED } })
      .jpeg()
      .toBuffer()
    const { thumbhash, hue } = await render(jpeg, { s: { maxEdge: 50 } })
    expect(hue).toMatch(/^#f[0-9a-f]0[0-9a-f]0[0-9a-f]$/)
    const placeholder = thumbHashToRGBA(Buffer.from(thumbhash, 'base64'))
    expect(placeholder.w / placeholder.h).toBeCloseTo(1.5, 0)
    expect(placeholder.rgba[0]).toBeGreaterThan(200)
  })

  describe('watermark', () => {
    const presets = { small: { maxEdge: 100 }, medium: { maxEdge: 200, format: 'png' as const } }

    async function watermarked(watermark: WatermarkConfig) {
      const jpeg = await sharp({
        create: { width: 400, height: 300, channels: 3, background: '#336699' },
      })
        .jpeg()
        .toBuffer()
      const probe = await probeImage(jpeg, limits)
      const { variants } = await renderImage(jpeg, probe, options(presets, { watermark }))
      return new Map(variants.map((variant) => [variant.name, variant]))
    }

    async function changedPixels(a: Buffer, b: Buffer): Promise<number> {
      const [x, y] = await Promise.all(
        [a, b].map((image) => sharp(image).raw().toBuffer({ resolveWithObject: true })),
      )
      expect(x!.info.channels).toBe(3)
      expect(y!.info.channels).toBe(3)
      let changed = 0
      for (let i = 0; i < x!.data.length; i += 3) {
        if (x!.data.compare(y!.data, i, i + 3, i, i + 3) !== 0) changed++
      }
      return changed
    }

    const base = {
      opacity: 0.6,
      gravity: 'southeast' as const,
      presets: { watermark: 'medium', watermarkSmall: 'small', watermarkNone: 'missing' },
    }

    it('draws text over a copy of each named preset, as an extra variant', async () => {
      const variants = await watermarked({ ...base, text: 'Darkroom <&> "demo"' })
      expect([...variants.keys()]).toEqual(['medium', 'small', 'watermark', 'watermarkSmall'])
      const medium = variants.get('medium')!
      const marked = variants.get('watermark')!
      expect(marked).toMatchObject({ format: 'png', width: medium.width, height: medium.height })
      expect(variants.get('watermarkSmall')).toMatchObject({ width: 100, height: 75 })
      const changed = await changedPixels(medium.data, marked.data)
      expect(changed).toBeGreaterThan(100)
      // southeast: the text sits in the lower part of the image
      const top = await sharp(marked.data).extract({ left: 0, top: 0, width: 200, height: 75 })
      const topOfMedium = await sharp(medium.data)
        .extract({ left: 0, top: 0, width: 200, height: 75 })
        .png()
        .toBuffer()
      expect(await changedPixels(await top.png().toBuffer(), topOfMedium)).toBe(0)
    })

    it('lays an image over a quarter of the width', async () => {
      const logo = await sharp({
        create: {
          width: 80,
          height: 40,
          channels: 4,
          background: { r: 255, g: 255, b: 0, alpha: 1 },
        },
      })
        .png()
        .toBuffer()
      const variants = await watermarked({ ...base, gravity: 'center', image: logo })
      const medium = variants.get('medium')!
      const changed = await changedPixels(medium.data, variants.get('watermark')!.data)
      // 50x25 px of logo over the 200x150 medium
      expect(changed).toBeGreaterThan(50 * 25 * 0.8)
      expect(changed).toBeLessThan(50 * 25 * 1.3)
    })
  })
})
