import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { maxUploadBytes } from '../../config.js'
import { parseConfig } from '../../darkroom.js'
import { makeCaller, makeTestDarkroom } from '../../testing/index.js'

const alice = makeCaller('alice')

describe('photos.precheck on the first bytes of a resumable upload', () => {
  it('lets through a TIFF whose first IFD lies past the head, which ingest then takes', async () => {
    const { darkroom } = await makeTestDarkroom()
    // sharp writes the IFD after the pixels: the first 4100 bytes name no type but "TIFF".
    const tiff = await sharp({
      create: { width: 96, height: 64, channels: 3, background: '#336699' },
    })
      .tiff({ compression: 'none' })
      .toBuffer()
    expect(tiff.byteLength).toBeGreaterThan(4100)
    expect(tiff.readUInt32LE(4)).toBeGreaterThan(4100)
    const head = tiff.subarray(0, 4100)
    await expect(
      darkroom.photos.precheck(alice, { size: tiff.byteLength, head }),
    ).resolves.toBeUndefined()
    const { uploaded } = await darkroom.photos.upload(alice, {
      files: [{ filename: 'scan.tif', data: tiff }],
    })
    expect(uploaded[0]).toMatchObject({ mimeType: 'image/tiff', width: 96, height: 64 })
  })

  it('still refuses a head that names a type not allowed, or names nothing at all', async () => {
    const { darkroom } = await makeTestDarkroom()
    const pdf = Buffer.from(
      '%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n1 0 obj\n<<>>\nendobj\n'.padEnd(5000, ' '),
    )
    await expect(darkroom.photos.precheck(alice, { size: 5000, head: pdf })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    const garbage = Buffer.alloc(4100, 0x5a)
    await expect(
      darkroom.photos.precheck(alice, { size: 5000, head: garbage }),
    ).rejects.toMatchObject({ code: 'VALIDATION' })
  })
  it('narrows to the types an edge allows, naming its list in its order', async () => {
    const { darkroom } = await makeTestDarkroom()
    const allowedMimeTypes = ['image/jpeg', 'image/png', 'image/webp', 'image/gif']
    const pdf = Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\n'.padEnd(5000, ' '))
    await expect(
      darkroom.photos.precheck(alice, { size: 5000, head: pdf, allowedMimeTypes }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
      violations: [
        {
          property: 'file',
          reason: 'invalid_type',
          message:
            'The mime type of the file is invalid ("application/pdf"). Allowed mime types are ' +
            '"image/jpeg", "image/png", "image/webp", "image/gif".',
        },
      ],
    })
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } })
      .png()
      .toBuffer()
    await expect(
      darkroom.photos.precheck(alice, { head: png, allowedMimeTypes: ['image/jpeg'] }),
    ).rejects.toMatchObject({ violations: [{ message: expect.stringContaining('"image/png"') }] })
    await expect(
      darkroom.photos.precheck(alice, { head: png, allowedMimeTypes }),
    ).resolves.toBeUndefined()
    // A TIFF head that names nothing more is a TIFF where TIFF is not allowed.
    const tiff = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#000' } })
      .tiff({ compression: 'none' })
      .toBuffer()
    await expect(
      darkroom.photos.precheck(alice, { head: tiff.subarray(0, 4100), allowedMimeTypes }),
    ).rejects.toMatchObject({
      violations: [{ message: expect.stringContaining('("image/tiff")') }],
    })
  })
})

describe('maxUploadBytes', () => {
  it('is the image limit, or the video limit when video is on (what tus advertises)', () => {
    const MiB = 1024 * 1024
    expect(maxUploadBytes(parseConfig({ limits: { maxFileBytes: 8 * MiB } }))).toBe(8 * MiB)
    const video = { enabled: true, maxFileBytes: 64 * MiB }
    expect(maxUploadBytes(parseConfig({ limits: { maxFileBytes: 8 * MiB }, video }))).toBe(64 * MiB)
    const off = { ...video, enabled: false }
    expect(maxUploadBytes(parseConfig({ limits: { maxFileBytes: 8 * MiB }, video: off }))).toBe(
      8 * MiB,
    )
  })
})
