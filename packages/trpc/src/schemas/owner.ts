import type { OwnerInfo } from '@darkroom/core'
import { z } from 'zod'
import { idSchema, strictObject, type Mirrors } from './common.js'

/**
 * Owners' schemas. Inputs are strict objects (`strictObject`): an unknown key is a `VALIDATION`
 * violation naming it, never silently dropped; the output is strict too.
 */

/** An owner's quota, use and profile picture, exactly as core returns them. */
export const ownerInfoSchema = z.strictObject({
  ownerId: z.string(),
  /** The quota that applies (the owner's own, else the default); null: none. */
  quotaBytes: z.number().nullable(),
  /** Bytes of every photo of the owner, trash and pending included. */
  usedBytes: z.number(),
  profilePhotoId: z.string().nullable(),
})

const mirrors: Mirrors<z.output<typeof ownerInfoSchema>, OwnerInfo> = true
void mirrors

/** `owners.me` takes nothing; an object with any key is refused. */
export const ownersMeInput = strictObject({}).optional()

const quotaMessage = 'The quota is a whole number of bytes from 0.'

export const setQuotaInput = strictObject({
  ownerId: idSchema,
  /** Bytes; null: the configured default applies. */
  quotaBytes: z
    .number()
    .int({ error: quotaMessage })
    .min(0, { error: quotaMessage })
    .max(Number.MAX_SAFE_INTEGER, { error: quotaMessage })
    .nullable(),
})
