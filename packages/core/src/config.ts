import { z } from 'zod'

/**
 * The one config object of the engine. `createDarkroom` parses it once, fills defaults, freezes
 * it and fails listing every issue. Byte sizes end in `Bytes`, durations in `Ms`.
 */
export const IMAGE_MIME_TYPES = [
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/heic',
  'image/heif',
  'image/tiff',
] as const
export const VIDEO_MIME_TYPES = [
  'video/mp4',
  'video/webm',
  'video/quicktime',
  'video/x-msvideo',
] as const

export const VARIANT_FORMATS = ['webp', 'jpeg', 'avif', 'png'] as const
export type VariantFormat = (typeof VARIANT_FORMATS)[number]

const variantPresetSchema = z.object({
  /** Longest edge in pixels; a smaller original is never upscaled. */
  maxEdge: z.number().int().min(16).max(16384),
  format: z.enum(VARIANT_FORMATS).optional(),
  quality: z.number().int().min(1).max(100).optional(),
  /** WebP encoder effort of this preset, 0 (fastest) to 6 (smallest files); see `variants.effort`. */
  effort: z.number().int().min(0).max(6).optional(),
})

const watermarkSchema = z
  .object({
    /** Text drawn across the image (rendered by librsvg through sharp). */
    text: z.string().min(1).max(200).optional(),
    /** An image (PNG with alpha is best) laid over the photo, as bytes. */
    image: z.instanceof(Uint8Array).optional(),
    opacity: z.number().min(0).max(1).default(0.5),
    gravity: z
      .enum(['center', 'southeast', 'southwest', 'northeast', 'northwest'])
      .default('southeast'),
    /** Which presets get a watermarked copy, and under which variant name. */
    presets: z
      .record(z.string(), z.string())
      .default({ watermark: 'medium', watermarkSmall: 'small' }),
  })
  .refine((w) => w.text !== undefined || w.image !== undefined, {
    message: 'a watermark needs text or image',
  })

export const configSchema = z
  .object({
    limits: z
      .object({
        maxFileBytes: z
          .number()
          .int()
          .positive()
          .default(50 * 1024 * 1024),
        maxFilesPerBatch: z.number().int().positive().max(2000).default(500),
        /** Decoded pixels (width x height) above which a file is refused from its header. */
        maxInputPixels: z.number().int().positive().default(150_000_000),
        /**
         * Memory that the image decodes of every ingest together may hold at once, across
         * callers: a file takes `width x height x 4` bytes of it (RGBA) while its variants are
         * rendered, and waits while that is not free. One file larger than the whole runs alone.
         */
        ingestMemoryBytes: z
          .number()
          .int()
          .positive()
          .default(1024 * 1024 * 1024),
        /** Default quota for owners without their own; null = unlimited. */
        defaultQuotaBytes: z.number().int().positive().nullable().default(null),
      })
      .prefault({}),
    allowedMimeTypes: z.array(z.string()).default([...IMAGE_MIME_TYPES]),
    video: z
      .object({
        /** MP4, WebM, MOV and AVI become `kind: 'video'` photos; needs ffmpeg and ffprobe. */
        enabled: z.boolean().default(false),
        /** A video's own size limit (images keep `limits.maxFileBytes`). */
        maxFileBytes: z
          .number()
          .int()
          .positive()
          .default(10 * 1024 * 1024 * 1024),
        /** Which video types are allowed when enabled. */
        mimeTypes: z.array(z.enum(VIDEO_MIME_TYPES)).default([...VIDEO_MIME_TYPES]),
        /** The ffmpeg and ffprobe executables: a path, or a name looked up on PATH. */
        ffmpegPath: z.string().min(1).default('ffmpeg'),
        ffprobePath: z.string().min(1).default('ffprobe'),
        /** Each ffprobe/ffmpeg run is killed after this long, and the video refused. */
        timeoutMs: z.number().int().positive().default(120_000),
        /**
         * Where the default scratch space puts temp files (a streamed video spooled for
         * ffprobe/ffmpeg, a JPEG copy for a shrink-on-load decode); null: the OS temp folder.
         */
        tempDir: z.string().min(1).nullable().default(null),
      })
      .prefault({}),
    variants: z
      .object({
        presets: z.record(z.string(), variantPresetSchema).default({
          // A 320 px encode is a few ms at any effort: the small preset keeps libwebp's 4.
          small: { maxEdge: 320, effort: 4 },
          medium: { maxEdge: 1024 },
          large: { maxEdge: 2048 },
        }),
        format: z.enum(VARIANT_FORMATS).default('webp'),
        quality: z.number().int().min(1).max(100).default(80),
        /**
         * WebP encoder effort of presets that name none, 0 (fastest) to 6 (smallest files); other
         * formats ignore it. 2 renders the 24 MP pipeline about twice as fast as libwebp's default
         * 4, with files 2-3% larger and SSIM within 0.002 (`npm run bench -- wedding`).
         */
        effort: z.number().int().min(0).max(6).default(2),
      })
      .prefault({}),
    watermark: watermarkSchema.nullable().default(null),
    pending: z
      .object({
        /** Pending photos older than this are purged by `maintenance.purgePending()`. */
        ttlMs: z
          .number()
          .int()
          .positive()
          .default(24 * 60 * 60 * 1000),
      })
      .prefault({}),
    trash: z
      .object({
        /**
         * Photos in the trash longer than this are hard-deleted by `maintenance.purgeTrash()`
         * (row, then blobs): until then they count against the owner's quota and can be restored.
         */
        retentionMs: z
          .number()
          .int()
          .positive()
          .default(30 * 24 * 60 * 60 * 1000),
      })
      .prefault({}),
    /** How many files of a batch are processed at once (image work is CPU bound). */
    concurrency: z.number().int().min(1).max(64).default(2),
    transforms: z
      .object({
        /**
         * On-the-fly renders (`photos.transform`) at once, in their own limiter beside ingest's
         * `concurrency`, so a flood of renders never holds the slots uploads need; default half
         * the cores, at least 1.
         */
        concurrency: z.number().int().min(1).max(64).optional(),
      })
      .prefault({}),
    /** Prefix of the variant URLs in photo records, e.g. `https://cdn.example.com`. */
    publicBaseUrl: z.string().default(''),
    /** Orphan blobs younger than this are left alone by the sweep (an ingest may own them). */
    orphanGraceMs: z
      .number()
      .int()
      .min(0)
      .default(60 * 60 * 1000),
  })
  .strict()

/**
 * The largest file an upload may be before its type is known (a tus creation, the
 * `Tus-Max-Size` it advertises): the image limit, or the video limit when video is on and
 * larger. Once the first bytes name the type, that type's own limit applies.
 */
export function maxUploadBytes(config: DarkroomConfig): number {
  const { video } = config
  const videoMax = video.enabled && video.mimeTypes.length > 0 ? video.maxFileBytes : 0
  return Math.max(config.limits.maxFileBytes, videoMax)
}

export type DarkroomConfigInput = z.input<typeof configSchema>
export type DarkroomConfig = Readonly<z.output<typeof configSchema>>
export type VariantPreset = z.output<typeof variantPresetSchema>
export type WatermarkConfig = z.output<typeof watermarkSchema>
