import * as keys from '../records/api-keys.js'
import { iso } from '../internal/dates.js'
import {
  apiKeySchema,
  createApiKeyInput,
  createdApiKeySchema,
  revokeApiKeyInput,
} from '../schemas/key.js'
import { router, type Procedures } from '../trpc.js'

export function keysRouter(p: Procedures) {
  return router({
    /** The key itself comes back this once. */
    create: p.authed
      .input(createApiKeyInput)
      .output(createdApiKeySchema)
      .mutation(async ({ ctx, input }) => {
        const created = await keys.create(ctx.serverStore, ctx.caller, input, ctx)
        return { key: created.key, apiKey: toOutput(created.apiKey) }
      }),

    list: p.authed
      .output(apiKeySchema.array())
      .query(async ({ ctx }) => (await keys.list(ctx.serverStore, ctx.caller)).map(toOutput)),

    revoke: p.authed
      .input(revokeApiKeyInput)
      .output(apiKeySchema)
      .mutation(async ({ ctx, input }) =>
        toOutput(await keys.revoke(ctx.serverStore, ctx.caller, input, ctx)),
      ),
  })
}

function toOutput(key: keys.ApiKeyInfo) {
  return {
    ...key,
    createdAt: iso(key.createdAt),
    lastUsedAt: iso(key.lastUsedAt),
    revokedAt: iso(key.revokedAt),
  }
}
