import type { ServerConfig } from '../config.js'
import { cronEvery } from './pg-boss-jobs.js'

/**
 * The server's periodic maintenance, listed once for both ways it runs: with SQLite each task is
 * an in-process timer every `everyMs`; with Postgres each is a pg-boss queue fired by `cron`
 * (jobs/pg-boss-jobs.ts), one run per slot across all processes. A task added here runs on
 * both. Every task is idempotent (rows first, then blobs; uploads under their lock; blobs past
 * a grace age), so a run cut short is simply run again.
 */

export const PERIODIC_TASKS = [
  'uploadCleanup',
  'purgePending',
  'purgeTrash',
  'orphanSweep',
] as const
export type PeriodicTaskName = (typeof PERIODIC_TASKS)[number]

export interface PeriodicTask {
  /** For the logs: `trash purge failed`. */
  label: string
  /** The SQLite timer's interval; 0 turns it off. */
  everyMs: number
  /** The pg-boss schedule (UTC); null: none. */
  cron: string | null
  /** A pg-boss job running longer is considered dead and retried. */
  expireInSeconds: number
  run(): Promise<unknown>
}

export function periodicTasks(
  config: ServerConfig,
  run: Record<PeriodicTaskName, () => Promise<unknown>>,
): Record<PeriodicTaskName, PeriodicTask> {
  const { intervalMs, orphanSweepIntervalMs } = config.maintenance
  const cleanupMs = config.uploads.cleanupIntervalMs
  return {
    uploadCleanup: {
      label: 'upload cleanup',
      everyMs: cleanupMs,
      cron: cronEvery(cleanupMs),
      expireInSeconds: 15 * 60,
      run: run.uploadCleanup,
    },
    purgePending: {
      label: 'pending purge',
      everyMs: intervalMs,
      cron: intervalMs > 0 ? cronEvery(intervalMs) : null,
      expireInSeconds: 30 * 60,
      run: run.purgePending,
    },
    purgeTrash: {
      label: 'trash purge',
      everyMs: intervalMs,
      cron: intervalMs > 0 ? cronEvery(intervalMs) : null,
      expireInSeconds: 30 * 60,
      run: run.purgeTrash,
    },
    // Daily (off the hour with cron): it lists every blob.
    orphanSweep: {
      label: 'orphan sweep',
      everyMs: orphanSweepIntervalMs,
      cron: orphanSweepIntervalMs > 0 ? '17 3 * * *' : null,
      expireInSeconds: 2 * 3600,
      run: run.orphanSweep,
    },
  }
}
