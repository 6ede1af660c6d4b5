import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { IMAGE_MIME_TYPES } from '../config.js'
import { probeImage } from './probe-image.js'
import { sniffMimeType } from './sniff-mime-type.js'

const limits = { maxInputPixels: 150_000_000, allowedMimeTypes: IMAGE_MIME_TYPES }

function canvas(width: number, height: number) {
  return sharp({ create: { width, height, channels: 3, background: '#3366aa' } })
}

describe('probeImage', () => {
  it('sizes a JPEG from its header and swaps the displayed size for EXIF orientation 6', async () => {
    const jpeg = await canvas(60, 40).jpeg().withMetadata({ orientation: 6 }).toBuffer()
    await expect(probeImage(jpeg, limits)).resolves.toEqual({
      mimeType: 'image/jpeg',
      format: 'jpeg',
      storedWidth: 60,
      storedHeight: 40,
      width: 40,
      height: 60,
      orientation: 6,
      rotation: 0,
      pages: 1,
    })
  })

  it.each([
    [3, 60, 40],
    [5, 40, 60],
    [8, 40, 60],
  ])('orientation %i displays as %ix%i', async (orientation, width, height) => {
    const webp = await canvas(60, 40).webp().withMetadata({ orientation }).toBuffer()
    await expect(probeImage(webp, limits)).resolves.toMatchObject({ orientation, width, height })
  })

  it('reports no orientation when there is no EXIF', async () => {
    const png = await canvas(30, 20).png().toBuffer()
    await expect(probeImage(png, limits)).resolves.toMatchObject({
      mimeType: 'image/png',
      orientation: null,
      width: 30,
      height: 20,
    })
  })

  it('counts the frames of an animated GIF', async () => {
    const frames = await Promise.all(
      ['#f00', '#0f0', '#00f'].map((background) =>
        sharp({ create: { width: 8, height: 6, channels: 3, background } })
          .png()
          .toBuffer(),
      ),
    )
    const gif = await sharp(frames, { join: { animated: true } })
      .gif()
      .toBuffer()
    await expect(probeImage(gif, limits)).resolves.toMatchObject({
      mimeType: 'image/gif',
      width: 8,
      height: 6,
      orientation: null,
      pages: 3,
    })
  })

  it('sizes a HEIF by irot, as an iPhone writes it (irot 270 and EXIF Orientation 6)', async () => {
    // libvips turns EXIF Orientation 6 into irot 270 when it writes HEIF, and keeps the EXIF.
    const avif = await canvas(60, 40).avif().withMetadata({ orientation: 6 }).toBuffer()
    await expect(probeImage(avif, limits)).resolves.toEqual({
      mimeType: 'image/avif',
      format: 'avif',
      storedWidth: 60,
      storedHeight: 40,
      width: 40,
      height: 60,
      orientation: 6,
      rotation: 270,
      pages: 1,
    })
  })

  it('does not apply the EXIF Orientation inside a HEIF that has no turn in irot', async () => {
    const avif = await canvas(60, 40).avif().withMetadata({ orientation: 6 }).toBuffer()
    const irot = avif.indexOf('irot', 0, 'latin1')
    avif[irot + 4] = 0
    await expect(probeImage(avif, limits)).resolves.toMatchObject({
      width: 60,
      height: 40,
      orientation: 6,
      rotation: 0,
    })
  })
})

describe('sniffMimeType', () => {
  it('goes by the bytes, not by any name', async () => {
    const png = await canvas(4, 4).png().toBuffer()
    await expect(sniffMimeType(png.subarray(0, 64))).resolves.toEqual({
      mimeType: 'image/png',
      ext: 'png',
    })
  })

  it('names XMP text and returns null for unknown binary', async () => {
    const xmp = Buffer.from('<?xpacket begin=""?><x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
    await expect(sniffMimeType(xmp)).resolves.toEqual({
      mimeType: 'application/rdf+xml',
      ext: 'xmp',
    })
    await expect(sniffMimeType(Buffer.from([0, 1, 2, 3, 4, 5]))).resolves.toBeNull()
  })
})
