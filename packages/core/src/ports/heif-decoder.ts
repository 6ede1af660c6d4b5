/** The primary image of a HEIF, as pixels. */
export interface DecodedHeif {
  width: number
  height: number
  hasAlpha: boolean
  /** RGBA, 8 bits per channel, already turned by `irot`/`imir` and cropped by `clap`. */
  pixels: Buffer
}

export interface DecodeHeifOptions {
  /** Refuse a primary image larger than this many pixels (the probe checked the header already). */
  maxPixels: number
  /** Time limit for the decode once it has started. */
  timeoutMs: number
}

/**
 * Decodes HEVC-coded HEIF (iPhone HEIC), which sharp's prebuilt libvips cannot. The work is CPU
 * heavy (about 0.7 s per 12 MP photo) and must not block the event loop. Implemented by
 * `LibheifHeifDecoder` from `@darkroom/core/node`, the default of `createDarkroom`.
 */
export interface HeifDecoder {
  /**
   * The primary image (the one the file marks primary, not merely the first), with its
   * transformations applied: nothing downstream may rotate it again. Rejects with an `Error` when
   * the file cannot be decoded, the image is larger than `maxPixels`, or the decode takes longer
   * than `timeoutMs`; ingest then refuses the upload as `corrupt`. `data` is not changed.
   */
  decode(data: Uint8Array, options: DecodeHeifOptions): Promise<DecodedHeif>
}
