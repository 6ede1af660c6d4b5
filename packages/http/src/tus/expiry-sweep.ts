import { isPartial } from './concatenation.js'
import type { DarkroomDataStore } from './darkroom-data-store.js'
import type { TusDeps } from './deps.js'
import { removeQuietly } from './ingest.js'

/**
 * Removes the uploads past their expiry, each under its lock (tus' own `deleteExpired` takes
 * none): an unfinished upload is then `failed` ("expired"), a partial one forgotten. An upload
 * being ingested in this process is left alone; its ingest removes it. Returns how many.
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
    await locks.hold([id], async () => {
      await removeQuietly(store, id, logger)
      const record = await records.get(id)
      if (record?.state !== 'receiving') return
      if (isPartial(id)) await records.forget(id)
      else await records.move(id, 'failed', { error: 'The upload expired before it was finished.' })
    })
    removed++
  }
  if (removed > 0) logger.info({ removed }, 'expired uploads removed')
  return removed
}
