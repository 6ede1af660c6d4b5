import type { Caller, UploadRecord } from '@darkroom/core'
import { isPartial } from './concatenation.js'
import type { TusDeps } from './deps.js'
import { removeQuietly } from './ingest.js'
import { isUnsettled } from '@darkroom/trpc'

/**
 * Crash recovery, run by HEAD (which a client sends before it resumes): an upload whose last
 * byte was stored but whose ingest never finished (the process died in between) is ingested
 * now, under its lock, so that the client's HEAD finds it ready (or failed) rather than
 * complete without a photo. One whose bytes are gone while it was processed is failed.
 */
export async function recover(
  record: UploadRecord,
  caller: Caller,
  deps: TusDeps,
): Promise<UploadRecord> {
  const { records, store, ingest, locks, logger } = deps
  if (isPartial(record.id) || ingest.isRunning(record.id) || !isUnsettled(record)) return record
  return locks.hold([record.id], async () => {
    const fresh = await records.get(record.id)
    if (!fresh || !isUnsettled(fresh)) return fresh ?? record
    const upload = await store.getUpload(record.id).catch(() => null)
    if (!upload) {
      if (fresh.state === 'receiving') return fresh
      return records.move(record.id, 'failed', {
        error: 'The upload was interrupted while it was processed; upload the file again.',
      })
    }
    if (upload.size === undefined || upload.offset !== upload.size) return fresh
    await ingest.run(upload, caller).then(
      () => removeQuietly(store, record.id, logger),
      () => undefined,
    )
    return (await records.get(record.id)) ?? fresh
  })
}
