import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DarkroomError } from '../../errors.js'
import {
  asPhoto,
  CORPUS_MISSING,
  loadCorpus,
  makeCaller,
  makeTestDarkroom,
  type CorpusEntry,
} from '../../testing/index.js'

/**
 * Every file of the shared corpus through the whole ingest path (`photos.upload` over the
 * in-memory adapters), held to the values an independent tool (exiftool) wrote in the manifest.
 */
const corpus = loadCorpus()
const alice = makeCaller('alice')

function expectedTakenAt(entry: CorpusEntry): string | null {
  if (!entry.takenAt) return null
  const [date, time] = entry.takenAt.split(' ')
  return `${date!.replaceAll(':', '-')}T${time}${entry.offset ?? ''}`
}

function expectedOrientation(entry: CorpusEntry): number | null {
  const o = entry.orientation
  if (o === 0) return 1
  return o !== null && o >= 1 && o <= 8 ? o : null
}

async function ingest(entry: CorpusEntry, maxInputPixels?: number) {
  const t = await makeTestDarkroom(maxInputPixels ? { config: { limits: { maxInputPixels } } } : {})
  const data = await readFile(join(corpus!.dir, entry.path))
  const filename = entry.path.split('/').pop()!
  const result = await t.darkroom.photos.upload(alice, { files: [{ filename, data }] }).then(
    (r) => ({ ok: r }),
    (error: unknown) => ({ error }),
  )
  const blobs: string[] = []
  for await (const b of t.blobs.list()) blobs.push(b.key)
  const rows = await t.store.scanPhotos({ limit: 10 })
  return { ...result, blobs, rows }
}

describe.skipIf(!corpus)('corpus ingest', () => {
  if (!corpus) return
  const entries = corpus.entries

  describe.each(
    entries.filter((e) => e.expect === 'ok' && !e.overPixelLimit).map((e) => [e.path, e] as const),
  )('%s', (_path, entry) => {
    it('ingests with the manifest values', async () => {
      const { ok, error, rows, blobs } = (await ingest(entry)) as Awaited<
        ReturnType<typeof ingest>
      > & {
        ok?: Awaited<ReturnType<import('../../darkroom.js').Darkroom['photos']['upload']>>
        error?: unknown
      }
      if (entry.path === 'libvips/ojpeg-strip.tif' && error) {
        // Allowed by the corpus README: refused, naming the unsupported compression.
        expect((error as DarkroomError).violations[0]!.message).toMatch(/JPEG|compression/i)
        expect(blobs).toEqual([])
        return
      }
      expect(error).toBeUndefined()
      const photo = asPhoto(ok!.uploaded[0]!)
      expect([photo.width, photo.height]).toEqual([entry.displayWidth, entry.displayHeight])
      expect(photo.orientation).toBe(expectedOrientation(entry))
      expect(photo.takenAt).toBe(expectedTakenAt(entry))
      if (entry.gps) {
        expect(photo.exif?.gps?.lat).toBeCloseTo(entry.gps.lat, 5)
        expect(photo.exif?.gps?.lon).toBeCloseTo(entry.gps.lon, 5)
      } else {
        expect(photo.exif?.gps ?? null).toBeNull()
      }
      expect(photo.exif?.make ?? null).toBe(entry.make)
      expect(photo.checksum).toBe(entry.sha256)
      expect(rows).toHaveLength(1)
      // Every variant keeps the displayed aspect ratio.
      for (const v of rows[0]!.variants.filter((v) => !v.name.startsWith('watermark'))) {
        const longEdge = Math.max(v.width, v.height)
        expect(longEdge).toBeLessThanOrEqual(Math.max(entry.displayWidth!, entry.displayHeight!))
        expect(
          Math.abs(v.width / v.height - entry.displayWidth! / entry.displayHeight!),
        ).toBeLessThan(2 / Math.min(v.width, v.height) + 0.01)
      }
    })
  })

  it.each(entries.filter((e) => e.overPixelLimit).map((e) => [e.path, e] as const))(
    '%s is refused over the 150 MP default before decoding',
    async (_path, entry) => {
      const { error, blobs, rows } = (await ingest(entry)) as {
        error?: DarkroomError
        blobs: string[]
        rows: unknown[]
      }
      expect(error).toBeInstanceOf(DarkroomError)
      expect(error!.code).toBe('VALIDATION')
      expect(error!.violations[0]).toMatchObject({
        reason: 'too_many_pixels',
        message: expect.stringContaining('150'),
      })
      expect(blobs).toEqual([])
      expect(rows).toEqual([])
    },
  )

  it('accepts sharp/giant-image.jpg (280 MP) once the limit is raised', async () => {
    const entry = entries.find((e) => e.path === 'sharp/giant-image.jpg')!
    const { ok } = (await ingest(entry, 300_000_000)) as {
      ok?: { uploaded: Array<{ width: number | null }> }
    }
    expect(ok?.uploaded[0]?.width).toBe(20000)
  })

  it.each(entries.filter((e) => e.expect === 'reject').map((e) => [e.path, e] as const))(
    '%s is refused naming the detected type, nothing stored',
    async (_path, entry) => {
      const { error, blobs, rows } = (await ingest(entry)) as {
        error?: DarkroomError
        blobs: string[]
        rows: unknown[]
      }
      expect(error).toBeInstanceOf(DarkroomError)
      expect(error!.code).toBe('VALIDATION')
      expect(error!.violations[0]!.message).toMatch(
        /"[a-z]+\/[a-z0-9.+-]+"|as [a-z]+\/[a-z0-9.+-]+/,
      )
      expect(blobs).toEqual([])
      expect(rows).toEqual([])
    },
  )

  it.each(entries.filter((e) => e.expect === 'partial').map((e) => [e.path, e] as const))(
    '%s (damaged) is ingested or refused cleanly, never half-stored',
    async (_path, entry) => {
      const { ok, error, blobs, rows } = (await ingest(entry)) as {
        ok?: { uploaded: unknown[] }
        error?: unknown
        blobs: string[]
        rows: unknown[]
      }
      if (error) {
        expect(error).toBeInstanceOf(DarkroomError)
        expect((error as DarkroomError).code).toBe('VALIDATION')
        expect(blobs).toEqual([])
        expect(rows).toEqual([])
      } else {
        expect(ok!.uploaded).toHaveLength(1)
        expect(rows).toHaveLength(1)
      }
    },
  )
})

describe.skipIf(corpus)('corpus ingest (corpus absent)', () => {
  it.skip(CORPUS_MISSING, () => {})
})
