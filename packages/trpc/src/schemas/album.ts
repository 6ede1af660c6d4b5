import type { Album, DeleteAlbumResult } from '@darkroom/core'
import { z } from 'zod'
import { idSchema, strictObject, type Mirrors } from './common.js'

export const albumSchema = z.object({
  id: z.string(),
  ownerId: z.string(),
  title: z.string(),
  description: z.string(),
  photoCap: z.number().nullable(),
  coverPhotoId: z.string().nullable(),
  photoCount: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
})

export const deleteAlbumResultSchema = z.object({
  id: z.string(),
  /** Photos whose bytes were outside any album already, merged into the photo kept there. */
  merged: z.array(z.object({ id: z.string(), keptId: z.string() })),
})

const mirrors: [
  Mirrors<z.output<typeof albumSchema>, Album>,
  Mirrors<z.output<typeof deleteAlbumResultSchema>, DeleteAlbumResult>,
] = [true, true]
void mirrors

const title = z
  .string()
  .trim()
  .min(1, { error: 'The title has 1 to 200 characters.' })
  .max(200, { error: 'The title has 1 to 200 characters.' })
const description = z
  .string()
  .max(10_000, { error: 'The description is at most 10000 characters.' })
const photoCap = z
  .number()
  .int({ error: 'The photo cap is a whole number from 0 to 1000000.' })
  .min(0, { error: 'The photo cap is a whole number from 0 to 1000000.' })
  .max(1_000_000, { error: 'The photo cap is a whole number from 0 to 1000000.' })
  .nullable()

export const createAlbumInput = strictObject({
  title,
  description: description.optional(),
  /** The most photos (trash excluded) the album may hold; null or omitted: no cap. */
  photoCap: photoCap.optional(),
})

export const updateAlbumInput = strictObject({
  id: idSchema,
  title: title.optional(),
  description: description.optional(),
  photoCap: photoCap.optional(),
  coverPhotoId: idSchema.nullable().optional(),
})

export const albumIdInput = strictObject({ id: idSchema })
