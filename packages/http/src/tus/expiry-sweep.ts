import { isPartial } from './concatenation.js'
import type { DarkroomDataStore } from './darkroom-data-store.js'
import type { TusDeps } from './deps.js'
import { removeQuietly } from './ingest.js'
import { recover } from './recovery.js'

/**
 * Removes the uploads past their expiry, each under its lock (tus' own `deleteExpired` takes
 * none): an unfinished upload is then `failed` ("expired"), a partial one forgotten, and one a
 * stop left `processing` failed with it. A complete upload a stop left unfinished is ingested
 * instead (recovery.ts). An upload being ingested in this process is left alone; its ingest
 * removes it. Returns how many were removed.
 */
export async function sweepExpired(
  datastore: DarkroomDataStore,
  now: Date,
  deps: TusDeps,
): Promise<number> {
  const { store, records, ingest, locks, logger } = deps
  let removed = 0
  for (const id of await datastore.listExpired(now.getTime())) {
    if (ingest.isRunning(id)) continue
    // A complete upload a stop left unfinished becomes its photo, not expired bytes.
    const record = await records.get(id)
    if (record && (await recover(record, deps)).state !== record.state) continue
    await locks.hold([id], async () => {
      await removeQuietly(store, id, logger)
      const current = await records.get(id)
      if (current?.state === 'processing' && !ingest.isRunning(id)) {
        // Its bytes are gone now: it can never finish.
        await records.move(id, 'failed', { error: 'The upload expired before it was processed.' })
        return
      }
      if (current?.state !== 'receiving') return
      if (isPartial(id)) await records.forget(id)
      else await records.move(id, 'failed', { error: 'The upload expired before it was finished.' })
    })
    removed++
  }
  if (removed > 0) logger.info({ removed }, 'expired uploads removed')
  return removed
}
