import type { StructureLimits } from './limits.js'
import { broken, counted, viewOf } from './walk.js'

/**
 * GIF: the block stream, header to trailer. Each image is its descriptor, colour table and LZW
 * data in sub-blocks; each extension its sub-blocks. Refused:
 * - a stream that ends inside a block (a file cut off), or that holds no whole image;
 * - an image whose LZW data is too short to yield its pixels. A decoder fills what is missing
 *   with the background, so 35 bytes that declare 12000x12000 become a 144-megapixel photo that
 *   costs 600 MB to render. Bound used: after a clear code the i-th code yields at most i pixels
 *   (a dictionary entry is one pixel longer than the one before it) and never more than 4096
 *   (the dictionary's size), and a code has at least `minimum code size + 1` bits;
 * - more than `images` images, or more than `containerBlocks` blocks.
 * A missing trailer, or junk where the next block should start, after a whole image is
 * tolerated, as every browser does: the walk bounds cost, the decoder judges the rest.
 */
export function walkGif(data: Uint8Array, limits: StructureLimits): void {
  const view = viewOf(data)
  if (data.length < 13) throw broken('the GIF header is cut off')
  let at = 13 + colourTableSize(data[10]!)
  let images = 0
  let blocks = 0
  while (at < data.length) {
    const introducer = data[at]!
    if (introducer === 0x3b) break
    counted(++blocks, limits.containerBlocks, 'GIF blocks')
    if (introducer === 0x21) {
      at = skipSubBlocks(data, at + 2).end
    } else if (introducer === 0x2c) {
      counted(++images, limits.images, 'GIF frames')
      if (at + 11 > data.length) throw broken('a GIF image descriptor is cut off')
      const width = view.getUint16(at + 5, true)
      const height = view.getUint16(at + 7, true)
      at += 10 + colourTableSize(data[at + 9]!)
      const minimumCodeSize = data[at]
      if (minimumCodeSize === undefined) throw broken('a GIF image is cut off before its data')
      const { end, bytes } = skipSubBlocks(data, at + 1)
      if (width * height > maxLzwPixels(bytes, minimumCodeSize)) {
        throw broken(
          `GIF frame ${images} declares ${width}x${height} pixels and holds data for far fewer`,
        )
      }
      at = end
    } else {
      // Junk after a whole image ends the stream, as a trailer would (browsers read it so).
      if (images > 0) break
      throw broken(`an unknown GIF block (0x${introducer.toString(16)}) before any image`)
    }
  }
  if (images === 0) throw broken('the GIF holds no image')
}

function colourTableSize(flags: number): number {
  return flags & 0x80 ? 3 * 2 ** ((flags & 0x07) + 1) : 0
}

/** Walks a run of data sub-blocks to its terminator: where it ends, and the data bytes it held. */
function skipSubBlocks(data: Uint8Array, from: number): { end: number; bytes: number } {
  let at = from
  let bytes = 0
  for (;;) {
    const size = data[at]
    if (size === undefined || at + 1 + size > data.length) {
      throw broken('the GIF data is cut off inside a block')
    }
    at += 1 + size
    if (size === 0) return { end: at, bytes }
    bytes += size
  }
}

/** The most pixels `bytes` of LZW data can decode to (see above); an upper bound, never less. */
export function maxLzwPixels(bytes: number, minimumCodeSize: number): number {
  const codes = Math.floor((bytes * 8) / Math.max(2, minimumCodeSize + 1))
  const ramp = Math.min(codes, 4096)
  return (ramp * (ramp + 1)) / 2 + Math.max(0, codes - 4096) * 4096
}
