import sharp, { type Sharp } from 'sharp'
import { describe, expect, it } from 'vitest'
import { readExif } from './read-exif.js'

type Exif = NonNullable<Parameters<Sharp['withExif']>[0]>

function canvas() {
  return sharp({ create: { width: 16, height: 12, channels: 3, background: '#808080' } })
}

const jpegWith = (exif: Exif) => canvas().jpeg().withExif(exif).toBuffer()

describe('readExif', () => {
  it('reads takenAt with OffsetTimeOriginal (never OffsetTime), camera, lens, exposure and GPS', async () => {
    const jpeg = await jpegWith({
      IFD0: { Make: '  Canon ', Model: 'EOS 1300D' },
      IFD2: {
        DateTimeOriginal: '2019:10:20 18:34:30',
        OffsetTimeOriginal: '+02:00',
        OffsetTime: '+09:00',
        DateTimeDigitized: '2001:01:01 01:01:01',
        LensModel: 'EF-S18-55mm f/3.5-5.6 III',
        ISOSpeedRatings: '400',
        ExposureTime: '1/250',
        FNumber: '56/10',
        FocalLength: '35/1',
      },
      IFD3: {
        GPSLatitudeRef: 'S',
        GPSLatitude: '0/1 22/1 1668/100',
        GPSLongitudeRef: 'E',
        GPSLongitude: '36/1 3/1 2302/100',
      },
    })
    const facts = await readExif(jpeg)
    expect(facts).toEqual({
      takenAt: '2019-10-20T18:34:30+02:00',
      exif: {
        make: 'Canon',
        model: 'EOS 1300D',
        lens: 'EF-S18-55mm f/3.5-5.6 III',
        iso: 400,
        exposure: 0.004,
        fNumber: 5.6,
        focalLength: 35,
        gps: { lat: expect.closeTo(-0.3713, 6), lon: expect.closeTo(36.0564, 4) },
      },
    })
  })

  it('keeps a time without an offset offset-less: it is not UTC', async () => {
    const jpeg = await jpegWith({ IFD2: { DateTimeOriginal: '2008:07:16 11:33:20' } })
    await expect(readExif(jpeg)).resolves.toMatchObject({ takenAt: '2008-07-16T11:33:20' })
  })

  it('falls back to CreateDate with OffsetTimeDigitized', async () => {
    const jpeg = await jpegWith({
      IFD2: {
        DateTimeOriginal: '0000:00:00 00:00:00',
        DateTimeDigitized: '2015:09:08 11:02:17',
        OffsetTimeDigitized: '-05:00',
      },
    })
    await expect(readExif(jpeg)).resolves.toMatchObject({ takenAt: '2015-09-08T11:02:17-05:00' })
  })

  it.each([
    ['1799:12:31 23:59:59', null],
    ['2201:01:01 00:00:00', null],
    ['2023:02:29 12:00:00', null],
    ['2024:02:29 12:00:00', '2024-02-29T12:00:00'],
    ['2024:13:01 12:00:00', null],
    ['2024:01:01 24:00:00', null],
    ['    :  :     :  :  ', null],
    ['2026:11:24 14:41:16', '2026-11-24T14:41:16'],
  ])('DateTimeOriginal %j gives %j', async (stored, expected) => {
    const jpeg = await jpegWith({ IFD2: { DateTimeOriginal: stored } })
    await expect(readExif(jpeg)).resolves.toMatchObject({ takenAt: expected })
  })

  it('reads EXIF from WebP', async () => {
    const webp = await canvas()
      .webp()
      .withExif({ IFD0: { Make: 'WebCam' }, IFD2: { DateTimeOriginal: '2020:02:02 02:02:02' } })
      .toBuffer()
    await expect(readExif(webp)).resolves.toMatchObject({
      takenAt: '2020-02-02T02:02:02',
      exif: { make: 'WebCam', model: null, gps: null },
    })
  })

  it('reads EXIF from HEIF through the iloc extents (AVIF here)', async () => {
    const avif = await canvas()
      .avif()
      .withExif({
        IFD0: { Make: 'Apple', Model: 'iPhone' },
        IFD2: { DateTimeOriginal: '2022:02:16 12:55:41', OffsetTimeOriginal: '+01:00' },
      })
      .toBuffer()
    await expect(readExif(avif)).resolves.toMatchObject({
      takenAt: '2022-02-16T12:55:41+01:00',
      exif: { make: 'Apple', model: 'iPhone' },
    })
  })

  it('is null, not empty, when there is no EXIF at all', async () => {
    for (const bytes of [
      await canvas().jpeg().toBuffer(),
      await canvas().png().toBuffer(),
      await canvas().gif().toBuffer(),
      await canvas().avif().toBuffer(),
    ]) {
      await expect(readExif(bytes)).resolves.toEqual({ takenAt: null, exif: null })
    }
  })
})
