import sharp from 'sharp'

/**
 * Photo-like JPEGs for benchmarks: upscaled gaussian noise compresses and decodes like a real
 * photo (a flat colour would flatter every decoder). `seed` shifts the content.
 */
export async function makePhoto(
  width: number,
  height: number,
  seed: number,
  quality = 90,
): Promise<Buffer> {
  const small = await sharp({
    create: {
      width: Math.max(1, Math.round(width / 10)),
      height: Math.max(1, Math.round(height / 10)),
      channels: 3,
      background: '#000000',
      noise: { type: 'gaussian', mean: 110 + seed, sigma: 50 },
    },
  })
    .png()
    .toBuffer()
  return sharp(small).resize(width, height, { kernel: 'cubic' }).jpeg({ quality }).toBuffer()
}

/**
 * The same JPEG with a COM segment naming `n` right after SOI: the pixels are identical, the
 * checksum differs, so an engine that deduplicates by checksum ingests every copy.
 */
export function uniqueCopy(jpeg: Buffer, n: number): Buffer {
  const text = Buffer.from(`darkroom-bench-${n}`)
  const segment = Buffer.alloc(4 + text.length)
  segment.writeUInt16BE(0xfffe, 0)
  segment.writeUInt16BE(text.length + 2, 2)
  text.copy(segment, 4)
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)])
}
