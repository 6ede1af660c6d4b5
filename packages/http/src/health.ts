import type { Darkroom, ServerStore } from '@darkroom/core'
import type { Logger } from './logger.js'
import { json } from './internal/responses.js'

/**
 * `GET /healthz`: 200 `{ ok: true, checks }` when the database answers a query and the blob
 * store a stat, 503 naming the failing one otherwise (its error is logged, not returned).
 */
export function createHealthRoute(deps: {
  serverStore: ServerStore
  darkroom: Darkroom
  logger: Logger
}) {
  return async (): Promise<Response> => {
    const [engine, records] = await Promise.all([
      deps.darkroom.health(),
      deps.serverStore.countApiKeys().then(
        () => 'ok' as const,
        (error: unknown) => {
          deps.logger.error({ err: error }, 'health check: database failing')
          return 'failing' as const
        },
      ),
    ])
    const database = engine.checks.store === 'ok' && records === 'ok' ? 'ok' : 'failing'
    const checks = { database, blobs: engine.checks.blobs }
    const ok = database === 'ok' && checks.blobs === 'ok'
    return json(ok ? 200 : 503, { ok, checks })
  }
}
