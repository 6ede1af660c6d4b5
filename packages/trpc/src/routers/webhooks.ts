import { z } from 'zod'
import { iso } from '../internal/dates.js'
import {
  createWebhookInput,
  createdWebhookSchema,
  webhookIdInput,
  webhookSchema,
} from '../schemas/webhook.js'
import * as webhooks from '../records/webhooks.js'
import { router, type Procedures } from '../trpc.js'

export function webhooksRouter(p: Procedures, rules: webhooks.WebhookRules = {}) {
  return router({
    /** The signing secret comes back this once. */
    create: p.authed
      .input(createWebhookInput)
      .output(createdWebhookSchema)
      .mutation(async ({ ctx, input }) => {
        const created = await webhooks.create(ctx.serverStore, ctx.caller, input, {
          clock: ctx.clock,
          ids: ctx.ids,
          ...rules,
        })
        return { webhook: toOutput(created.webhook), secret: created.secret }
      }),

    list: p.authed
      .output(webhookSchema.array())
      .query(async ({ ctx }) => (await webhooks.list(ctx.serverStore, ctx.caller)).map(toOutput)),

    delete: p.authed
      .input(webhookIdInput)
      .output(z.object({ id: z.string() }))
      .mutation(({ ctx, input }) => webhooks.remove(ctx.serverStore, ctx.caller, input)),
  })
}

function toOutput(hook: webhooks.WebhookInfo) {
  return { ...hook, createdAt: iso(hook.createdAt) }
}
