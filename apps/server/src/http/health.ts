import type { IncomingMessage, ServerResponse } from 'node:http'
import type { BlobStore, ServerStore } from '@darkroom/core'
import type { Logger } from '../logger.js'
import { sendJson } from './internal/respond.js'

/**
 * `GET /healthz`: 200 `{ ok: true }` when the database answers a query and the blob store a
 * stat, 503 naming the failing one otherwise (its error is logged, not returned).
 */
export function createHealthRoute(deps: {
  serverStore: ServerStore
  blobs: BlobStore
  logger: Logger
}) {
  return async (_req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const checks = {
      database: await probe(() => deps.serverStore.countApiKeys(), deps.logger, 'database'),
      blobs: await probe(() => deps.blobs.stat('healthz/probe'), deps.logger, 'blob store'),
    }
    const ok = checks.database === 'ok' && checks.blobs === 'ok'
    sendJson(res, ok ? 200 : 503, { ok, checks })
  }
}

async function probe(
  check: () => Promise<unknown>,
  logger: Logger,
  what: string,
): Promise<'ok' | 'failing'> {
  try {
    await check()
    return 'ok'
  } catch (error) {
    logger.error({ err: error }, `health check: ${what} failing`)
    return 'failing'
  }
}
