import { z } from 'zod'
import { API_KEY_SCOPES } from '../records/api-keys.js'
import { idSchema, strictObject } from './common.js'

export const apiKeySchema = z.object({
  id: z.string(),
  ownerId: z.string(),
  name: z.string(),
  /** The first characters of the key, to recognise it. */
  prefix: z.string(),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
})

export const createdApiKeySchema = z.object({
  /** The key itself: shown this once, never stored. */
  key: z.string(),
  apiKey: apiKeySchema,
})

export const createApiKeyInput = strictObject({
  name: z
    .string()
    .trim()
    .min(1, { error: 'The name has 1 to 100 characters.' })
    .max(100, { error: 'The name has 1 to 100 characters.' }),
  scopes: z.array(z.enum(API_KEY_SCOPES)).min(1, { error: 'Give at least one scope.' }),
  /** Admins only: the owner the key acts as. */
  ownerId: idSchema.optional(),
})

export const revokeApiKeyInput = strictObject({ id: idSchema })
