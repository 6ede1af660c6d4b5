import type {
  ExifFacts,
  ImageProbe,
  RenderResult,
  probeImage,
  readExif,
  renderImage,
} from '../media/index.js'

/**
 * The image functions services call, gathered so `createDarkroom` can take a replacement (a
 * test that makes rendering fail, or a future native pipeline). The default is `./index.js`.
 */
export interface Media {
  probeImage: typeof probeImage
  readExif: typeof readExif
  renderImage: typeof renderImage
}

export type { ExifFacts, ImageProbe, RenderResult }
