import { z } from 'zod'
import { WEBHOOK_EVENT_TYPES } from '../records/webhooks.js'
import { idSchema, strictObject } from './common.js'

export const webhookSchema = z.object({
  id: z.string(),
  ownerId: z.string(),
  url: z.string(),
  /** Event types delivered; empty means all. */
  events: z.array(z.string()),
  createdAt: z.string(),
})

export const createdWebhookSchema = z.object({
  webhook: webhookSchema,
  /** The HMAC-SHA256 signing secret: shown this once. */
  secret: z.string(),
})

export const createWebhookInput = strictObject({
  url: z
    .string()
    .max(2000, { error: 'The webhook URL has at most 2000 characters.' })
    .refine(
      (value) => {
        try {
          const { protocol } = new URL(value)
          return protocol === 'http:' || protocol === 'https:'
        } catch {
          return false
        }
      },
      { error: 'The webhook URL must be an absolute http or https URL.' },
    ),
  /** Omitted or empty: every event. */
  events: z
    .array(z.enum(WEBHOOK_EVENT_TYPES))
    .max(WEBHOOK_EVENT_TYPES.length * 2)
    .optional(),
})

export const webhookIdInput = strictObject({ id: idSchema })
