import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { IMAGE_MIME_TYPES } from '../config.js'
import { DarkroomError } from '../errors.js'
import { FsScratchSpace, LibheifHeifDecoder } from '../node/index.js'
import { CORPUS_MISSING, loadCorpus, type CorpusEntry } from '../testing/corpus.js'
import { probeImage } from './probe-image.js'
import { readExif } from './read-exif.js'
import { renderImage, type RenderImageOptions } from './render-image.js'

// The shared corpus against its manifest (values from exiftool, not from sharp or exifr).

const corpus = loadCorpus()
const entries = corpus?.entries ?? []
const limits = { maxInputPixels: 150_000_000, allowedMimeTypes: IMAGE_MIME_TYPES }
const presets = { small: { maxEdge: 320 }, medium: { maxEdge: 1024 }, large: { maxEdge: 2048 } }
// JPEG variants: the corpus checks sizes and orientation; WebP is exercised by the generated tests
// and costs three times as much to encode.
const renderOptions: RenderImageOptions = {
  presets,
  format: 'jpeg',
  quality: 75,
  effort: 2,
  watermark: null,
  heifDecoder: new LibheifHeifDecoder(),
  scratchSpace: new FsScratchSpace(),
}

function read(entry: CorpusEntry): Buffer {
  return readFileSync(join(corpus!.dir, entry.path))
}

/** Resolves to the DarkroomError a promise rejects with, failing on success or any other error. */
async function refusal(promise: Promise<unknown>): Promise<DarkroomError> {
  const outcome = await promise.then(
    () => 'resolved',
    (error: unknown) => error,
  )
  if (!(outcome instanceof DarkroomError)) throw new Error(`expected a refusal, got ${outcome}`)
  expect(outcome.code).toBe('VALIDATION')
  return outcome
}

/** `YYYY:MM:DD HH:MM:SS` as Darkroom writes it. */
function wallClock(exiftool: string): string {
  return exiftool.replace(/^(\d{4}):(\d{2}):(\d{2}) /, '$1-$2-$3T')
}

const ok = entries.filter((entry) => entry.expect === 'ok' && !entry.overPixelLimit)
const ingestible = ok.filter((entry) => entry.path !== 'libvips/ojpeg-strip.tif')

describe.skipIf(!corpus)(corpus ? 'media corpus' : CORPUS_MISSING, () => {
  describe('ok: probe and EXIF agree with exiftool', () => {
    it.each(ingestible.map((entry) => [entry.path, entry] as const))('%s', async (_, entry) => {
      const bytes = read(entry)
      const probe = await probeImage(bytes, limits)
      expect(probe.mimeType).toBe(entry.mime)
      expect([probe.storedWidth, probe.storedHeight]).toEqual([entry.width, entry.height])
      expect([probe.width, probe.height]).toEqual([entry.displayWidth, entry.displayHeight])
      expect(probe.orientation).toBe(entry.orientation === 0 ? 1 : entry.orientation)
      if (entry.frames) expect(probe.pages).toBe(entry.frames)

      const { takenAt, exif } = await readExif(bytes)
      expect(takenAt?.slice(0, 19) ?? null).toBe(entry.takenAt && wallClock(entry.takenAt))
      expect(takenAt?.slice(19) || null).toBe(entry.offset)
      expect(exif?.make ?? null).toBe(entry.make)
      expect(exif !== null).toBe(entry.hasExif)
      if (entry.gps) {
        expect(exif?.gps?.lat).toBeCloseTo(entry.gps.lat, 5)
        expect(exif?.gps?.lon).toBeCloseTo(entry.gps.lon, 5)
        expect(Math.abs(exif!.gps!.lat - entry.gps.lat)).toBeLessThan(1e-5)
        expect(Math.abs(exif!.gps!.lon - entry.gps.lon)).toBeLessThan(1e-5)
      } else {
        expect(exif?.gps ?? null).toBeNull()
      }
    })
  })

  describe('ok: variants keep the displayed aspect, never upscaled', () => {
    it.each(ingestible.map((entry) => [entry.path, entry] as const))('%s', async (_, entry) => {
      const bytes = read(entry)
      const probe = await probeImage(bytes, limits)
      const { variants, thumbhash, hue } = await renderImage(bytes, probe, renderOptions)
      const displayWidth = entry.displayWidth!
      const displayHeight = entry.displayHeight!
      const longEdge = Math.max(displayWidth, displayHeight)
      expect(variants.map((variant) => variant.name)).toEqual(['large', 'medium', 'small'])
      for (const variant of variants) {
        const edge = Math.min(presets[variant.name as keyof typeof presets].maxEdge, longEdge)
        expect(Math.max(variant.width, variant.height), variant.name).toBe(edge)
        const scale = edge / longEdge
        expect(Math.abs(variant.width - displayWidth * scale)).toBeLessThanOrEqual(1)
        expect(Math.abs(variant.height - displayHeight * scale)).toBeLessThanOrEqual(1)
      }
      expect(thumbhash).toMatch(/^[A-Za-z0-9+/]+=*$/)
      expect(hue).toMatch(/^#[0-9a-f]{6}$/)
    })
  })

  describe('ok over the pixel limit: refused from the header, accepted when the limit allows', () => {
    const bombs = entries.filter((entry) => entry.overPixelLimit)

    it.each(bombs.map((entry) => [entry.path, entry] as const))('%s', async (_, entry) => {
      const error = await refusal(probeImage(read(entry), limits))
      expect(error.violations[0]).toMatchObject({ property: 'file', reason: 'too_many_pixels' })
      expect(error.violations[0]?.message).toContain(`${entry.width}x${entry.height}`)
      expect(error.violations[0]?.message).toContain('150 MP')
    })

    it('sharp/giant-image.jpg (280 MP) passes a 300 MP limit and renders by shrink-on-load', async () => {
      const entry = entries.find((e) => e.path === 'sharp/giant-image.jpg')!
      const bytes = read(entry)
      const probe = await probeImage(bytes, { ...limits, maxInputPixels: 300_000_000 })
      expect(probe).toMatchObject({ width: 20000, height: 14000 })
      const { variants } = await renderImage(bytes, probe, renderOptions)
      expect(variants[0]).toMatchObject({ name: 'large', width: 2048, height: 1434 })
    })
  })

  describe('reject: refused, naming the detected type', () => {
    const rejects = entries.filter((entry) => entry.expect === 'reject')

    it.each(rejects.map((entry) => [entry.path, entry] as const))('%s', async (_, entry) => {
      const error = await refusal(probeImage(read(entry), limits))
      expect(['invalid_type', 'corrupt']).toContain(error.violations[0]?.reason)
      expect(error.violations[0]?.message).toContain(`${entry.mime}`)
    })
  })

  describe('partial: rendered from what decodes, or refused; never a crash or a hang', () => {
    const partials = entries.filter((entry) => entry.expect === 'partial')

    it.each(partials.map((entry) => [entry.path, entry] as const))('%s', async (_, entry) => {
      const bytes = read(entry)
      const outcome = await probeImage(bytes, limits)
        .then((probe) => renderImage(bytes, probe, renderOptions))
        .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))
      if (outcome instanceof Error) {
        expect(outcome).toBeInstanceOf(DarkroomError)
        expect((outcome as DarkroomError).code).toBe('VALIDATION')
        expect((outcome as DarkroomError).violations[0]?.reason).toBe('corrupt')
      } else {
        expect(outcome.variants).toHaveLength(3)
      }
    })
  })

  it('libvips/ojpeg-strip.tif (old-style JPEG in TIFF) is refused naming the compression', async () => {
    const entry = entries.find((e) => e.path === 'libvips/ojpeg-strip.tif')!
    const error = await refusal(probeImage(read(entry), limits))
    expect(error.violations[0]).toMatchObject({ reason: 'unsupported_compression' })
    expect(error.violations[0]?.message).toMatch(/old-style JPEG compression/)
  })
})
