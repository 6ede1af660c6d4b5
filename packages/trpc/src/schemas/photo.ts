import {
  MAX_BULK_DELETE,
  MAX_GET_MANY,
  MAX_PAGE_SIZE,
  PHOTO_SORTS,
  type BulkDeleteResult,
  type DeleteResult,
  type Photo,
  type PhotoAnswer,
  type PhotoList,
  type PhotoReceipt,
  type RepairResult,
} from '@darkroom/core'
import { z } from 'zod'
import { idSchema, strictObject, type Mirrors } from './common.js'

// ---------------------------------------------------------------- outputs

const nullableString = z.string().nullable()
const nullableNumber = z.number().nullable()

export const photoExifSchema = z.object({
  make: nullableString,
  model: nullableString,
  lens: nullableString,
  iso: nullableNumber,
  exposure: nullableNumber,
  fNumber: nullableNumber,
  focalLength: nullableNumber,
  gps: z.object({ lat: z.number(), lon: z.number() }).nullable(),
})

export const photoVariantUrlsSchema = z
  .object({
    original: z.string(),
    small: nullableString,
    medium: nullableString,
    large: nullableString,
    watermark: nullableString.optional(),
    watermarkSmall: nullableString.optional(),
  })
  .catchall(nullableString.optional())

/** A photo exactly as core returns it. */
export const photoSchema = z.object({
  id: z.string(),
  ownerId: z.string(),
  albumId: nullableString,
  category: nullableString,
  filename: z.string(),
  description: z.string(),
  mimeType: z.string(),
  kind: z.enum(['image', 'video']),
  size: z.number(),
  width: nullableNumber,
  height: nullableNumber,
  orientation: nullableNumber,
  ratio: nullableNumber,
  takenAt: nullableString,
  exif: photoExifSchema.nullable(),
  hue: nullableString,
  thumbhash: nullableString,
  checksum: z.string(),
  isPublic: z.boolean(),
  hidden: z.boolean(),
  pending: z.boolean(),
  deletedAt: nullableString,
  position: z.string(),
  postId: nullableString,
  durationSec: nullableNumber,
  createdAt: z.string(),
  updatedAt: z.string(),
  views: z.number(),
  downloads: z.number(),
  likes: z.number(),
  ratingAvg: nullableNumber,
  ratingCount: z.number(),
  commentCount: z.number(),
  variants: photoVariantUrlsSchema,
})

/**
 * What a write answers a caller without `photos.read` (a write-only key): that the write
 * happened, with no photo data (core's `PhotoReceipt`, by `photoAnswerFor`).
 */
export const photoReceiptSchema = z
  .object({
    id: z.string(),
    albumId: nullableString,
    pending: z.boolean(),
    /** Always `true`: photo data is withheld from a caller without `photos.read`. */
    withheld: z.literal(true),
  })
  .describe(
    'Answered instead of the photo to a caller without the photos.read scope (a write-only key): ' +
      'the write happened; no photo data (filename, description, EXIF, GPS, dimensions ...).',
  )

/** A write's answer: the photo, or a receipt for a caller without `photos.read`. */
export const photoAnswerSchema = z.union([photoSchema, photoReceiptSchema])

export const photoListSchema = z.object({
  items: z.array(photoSchema),
  total: z.number(),
  nextCursor: nullableString,
})

export const deleteResultSchema = z.object({ id: z.string(), hard: z.boolean() })

/** A srcset of signed `/image` URLs for one photo (`photos.signUrls`). */
export const signedUrlsSchema = z.object({
  /** The largest width's URL. */
  src: z.string(),
  /** `<url> <width>w, ...`, smallest first: every URL carries the same one signature. */
  srcset: z.string(),
  /** The `sizes` asked for, to put beside `srcset`. */
  sizes: z.string().optional(),
  /** The widths of `srcset`: the ladder up to the photo's own width (never upscaled). */
  widths: z.array(z.number()),
  /** The photo's displayed size, for `<img width height>`; null when unknown. */
  width: nullableNumber,
  height: nullableNumber,
  expiresAt: z.string(),
})

export const bulkDeleteResultSchema = z.object({
  deleted: z.number(),
  failed: z.number(),
  failures: z.array(z.object({ id: z.string(), code: z.string(), message: z.string() })),
})

export const repairResultSchema = z.object({
  scanned: z.number(),
  repaired: z.number(),
  failed: z.number(),
  failures: z.array(z.object({ id: z.string(), message: z.string() })),
  /** Rows whose dimensions were set by hand, left as they are. */
  keptManual: z.number(),
})

export const commentSchema = z.object({
  id: z.string(),
  photoId: z.string(),
  authorId: z.string(),
  body: z.string(),
  createdAt: z.string(),
})

// Drift between these schemas and core's types fails the build here.
const mirrors: [
  Mirrors<z.output<typeof photoSchema>, Photo>,
  Mirrors<z.output<typeof photoReceiptSchema>, PhotoReceipt>,
  Mirrors<z.output<typeof photoAnswerSchema>, PhotoAnswer>,
  Mirrors<z.output<typeof photoListSchema>, PhotoList>,
  Mirrors<z.output<typeof deleteResultSchema>, DeleteResult>,
  Mirrors<z.output<typeof bulkDeleteResultSchema>, BulkDeleteResult>,
  Mirrors<z.output<typeof repairResultSchema>, RepairResult>,
] = [true, true, true, true, true, true, true]
void mirrors

// ---------------------------------------------------------------- inputs

export const listPhotosInput = strictObject({
  /** Omitted: every photo; null: those outside any album. */
  albumId: idSchema.nullable().optional(),
  category: z.string().max(200).optional(),
  hidden: z.boolean().optional(),
  pending: z.boolean().optional(),
  trashed: z.boolean().optional(),
  search: z.string().max(200, { error: 'The search has at most 200 characters.' }).optional(),
  sort: z.enum(PHOTO_SORTS).optional(),
  order: z.enum(['asc', 'desc']).optional(),
  limit: z
    .number()
    .int({ error: `The limit is a whole number from 1 to ${MAX_PAGE_SIZE}.` })
    .min(1, { error: `The limit is a whole number from 1 to ${MAX_PAGE_SIZE}.` })
    .max(MAX_PAGE_SIZE, { error: `The limit is a whole number from 1 to ${MAX_PAGE_SIZE}.` })
    .optional(),
  offset: z
    .number()
    .int({ error: 'The offset is a whole number from 0.' })
    .min(0, { error: 'The offset is a whole number from 0.' })
    .optional(),
  /** `nextCursor` of the previous page. */
  cursor: z.string().max(2000).optional(),
}).optional()

export const getPhotoInput = strictObject({
  id: idSchema,
  /** Adds one to `views`. */
  countView: z.boolean().optional(),
})

export const getManyPhotosInput = strictObject({
  ids: z.array(idSchema).max(MAX_GET_MANY, { error: `At most ${MAX_GET_MANY} ids at once.` }),
})

export const IMAGE_URL_FORMATS = ['auto', 'jpg', 'png', 'webp', 'avif'] as const
/** The longest a signed URL may live: 7 days. */
export const MAX_SIGNED_URL_SECONDS = 7 * 86_400
const widthMessage = 'A width is a whole number from 1 to 4096.'
const ttlMessage = `expiresInSeconds is a whole number from 60 to ${MAX_SIGNED_URL_SECONDS} (7 days).`

export const signUrlsInput = strictObject({
  id: idSchema,
  /** One format, or `auto` (default): avif, webp or jpeg by the browser's `Accept`. */
  format: z.enum(IMAGE_URL_FORMATS).optional(),
  /** Some widths of the server's ladder (`IMAGE_SIGNED_WIDTHS`); default all of them. */
  widths: z
    .array(
      z
        .number()
        .int({ error: widthMessage })
        .min(1, { error: widthMessage })
        .max(4096, { error: widthMessage }),
    )
    .min(1, { error: 'Give at least one width, or leave widths out for the whole ladder.' })
    .max(32, { error: 'At most 32 widths.' })
    .optional(),
  /** How long the URLs work; default 3600 (an hour). */
  expiresInSeconds: z
    .number()
    .int({ error: ttlMessage })
    .min(60, { error: ttlMessage })
    .max(MAX_SIGNED_URL_SECONDS, { error: ttlMessage })
    .optional(),
  /** The `sizes` attribute to answer beside `srcset` (echoed, not signed). */
  sizes: z
    .string()
    .trim()
    .min(1)
    .max(500, { error: 'sizes has at most 500 characters.' })
    .optional(),
})

const dimension = (property: string) =>
  z
    .number()
    .int({ error: `The ${property} is a whole number from 1 to 1000000.` })
    .min(1, { error: `The ${property} is a whole number from 1 to 1000000.` })
    .max(1_000_000, { error: `The ${property} is a whole number from 1 to 1000000.` })

export const updatePhotoInput = strictObject({
  id: idSchema,
  description: z
    .string()
    .max(10_000, { error: 'The description is at most 10000 characters.' })
    .optional(),
  filename: z.string().min(1).max(255).optional(),
  isPublic: z.boolean().optional(),
  hidden: z.boolean().optional(),
  category: z.string().max(200).nullable().optional(),
  /** `false` publishes a pending photo. */
  pending: z.boolean().optional(),
  postId: z.string().max(200).nullable().optional(),
  /** A manual dimension fix: both or neither. */
  width: dimension('width').optional(),
  height: dimension('height').optional(),
})

export const movePhotoInput = strictObject({
  id: idSchema,
  /** null takes the photo out of any album. */
  albumId: idSchema.nullable(),
  copy: z.boolean().optional(),
})

export const reorderPhotoInput = strictObject({
  id: idSchema,
  before: idSchema.optional(),
  after: idSchema.optional(),
})

export const deletePhotoInput = strictObject({
  id: idSchema,
  hard: z.boolean().optional(),
  preserveOnDisk: z.boolean().optional(),
})

export const bulkDeletePhotosInput = strictObject({
  ids: z
    .array(idSchema)
    .min(1, { error: 'Give at least one id.' })
    .max(MAX_BULK_DELETE, { error: `At most ${MAX_BULK_DELETE} ids at once.` }),
  hard: z.boolean().optional(),
  preserveOnDisk: z.boolean().optional(),
})

export const restorePhotoInput = strictObject({ id: idSchema })

export const repairDimensionsInput = strictObject({
  onlyMissing: z.boolean().optional(),
  /** Re-read rows whose dimensions were set by hand (`photos.update`) too. */
  overrideManual: z.boolean().optional(),
}).optional()

export const reactInput = strictObject({
  id: idSchema,
  like: z.boolean().optional(),
  rating: z
    .number()
    .int({ error: 'A rating is a whole number from 1 to 5.' })
    .min(1, { error: 'A rating is a whole number from 1 to 5.' })
    .max(5, { error: 'A rating is a whole number from 1 to 5.' })
    .optional(),
  comment: z.string().max(2000, { error: 'A comment has 1 to 2000 characters.' }).optional(),
})

export const listCommentsInput = strictObject({
  id: idSchema,
  limit: z.number().int().min(1).max(500).optional(),
})
