// The embedding snippet from the README, runnable: `node examples/embed.mjs [photo.jpg]`.
// With no argument it makes a photo with EXIF (orientation 6, a date with its offset, GPS).
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { createDarkroom } from '@darkroom/core'
import { createSqliteStore, createFsBlobStore } from '@darkroom/storage'

const dir = process.env.EXAMPLE_DIR ?? (await mkdtemp(join(tmpdir(), 'darkroom-embed-')))
const photo = process.argv[2]
  ? await readFile(process.argv[2])
  : await sharp({ create: { width: 3000, height: 2000, channels: 3, background: '#b86b3c' } })
      .jpeg()
      .withExif({
        IFD0: { Make: 'NIKON CORPORATION', Model: 'NIKON D750' },
        IFD2: { DateTimeOriginal: '2026:05:12 15:23:11', OffsetTimeOriginal: '+02:00' },
        IFD3: {
          GPSLatitudeRef: 'N',
          GPSLatitude: '48/1 51/1 2964/100',
          GPSLongitudeRef: 'E',
          GPSLongitude: '2/1 21/1 780/100',
        },
      })
      .withMetadata({ orientation: 6 })
      .toBuffer()

const darkroom = await createDarkroom({
  store: createSqliteStore({ filename: join(dir, 'darkroom.db') }),
  blobs: createFsBlobStore({ root: join(dir, 'blobs') }),
})
const me = { ownerId: 'alice', scopes: ['photos.read', 'photos.write'] }
const album = await darkroom.albums.create(me, { title: 'Wedding', photoCap: 500 })
const { uploaded, skipped } = await darkroom.photos.upload(me, {
  albumId: album.id,
  files: [{ filename: 'DSC_2031.jpg', data: photo }],
})
const page = await darkroom.photos.list(me, {
  albumId: album.id,
  sort: 'taken',
  order: 'asc',
  limit: 50,
})
const one = await darkroom.photos.get(me, { id: uploaded[0].id })
await darkroom.close()

console.log({ album: album.title, uploaded: uploaded.length, skipped, total: page.total })
const { id, width, height, orientation, ratio, takenAt, exif, hue, variants } = one
console.log({ id, width, height, orientation, ratio, takenAt, exif, hue, variants })
