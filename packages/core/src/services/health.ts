import type { ServiceContext } from './context.js'

export type HealthState = 'ok' | 'failing'

export interface HealthReport {
  ok: boolean
  checks: { store: HealthState; blobs: HealthState }
}

/**
 * Whether the engine can work: the metadata store answers a read and the blob store a stat.
 * A failing check is logged with its error; the report names only which one failed.
 */
export async function health(ctx: ServiceContext): Promise<HealthReport> {
  const probe = async (what: string, check: () => Promise<unknown>): Promise<HealthState> => {
    try {
      await check()
      return 'ok'
    } catch (error) {
      ctx.logger.error({ err: error }, `health check: ${what} failing`)
      return 'failing'
    }
  }
  const [store, blobs] = await Promise.all([
    probe('metadata store', () => ctx.store.getOwner('healthz')),
    probe('blob store', () => ctx.blobs.stat('healthz/probe')),
  ])
  return { ok: store === 'ok' && blobs === 'ok', checks: { store, blobs } }
}
