import type { Caller, UploadRecord } from '@darkroom/core'
import { isUnsettled } from '@darkroom/trpc'
import { isPartial } from './concatenation.js'
import type { TusDeps } from './deps.js'
import { removeQuietly } from './ingest.js'

/**
 * Crash recovery: an upload whose last byte was stored but whose ingest never finished (the
 * process died in between) is ingested, under its lock, as the owner who made it (whoever
 * asks: a HEAD of a read-only key must neither fail the ingest for want of `photos.write` nor
 * lose the bytes). The server runs it for every upload at start (`recoverAll`), a HEAD runs it
 * for its upload (a client sends one before it resumes), and the expiry sweep before it removes
 * anything. One whose bytes are gone while it was processed is failed.
 */
export async function recover(record: UploadRecord, deps: TusDeps): Promise<UploadRecord> {
  const { records, store, ingest, locks, logger } = deps
  if (isPartial(record.id) || !isUnsettled(record)) return record
  if (ingest.isRunning(record.id)) {
    // Under way here (a PATCH's, or the start-up recovery's): its outcome is the answer.
    await ingest.whenDone(record.id)
    return (await records.get(record.id)) ?? record
  }
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
    logger.info({ uploadId: record.id }, 'ingesting an upload a stop left unfinished')
    await ingest.run(upload, ownerOf(fresh)).then(
      () => removeQuietly(store, record.id, logger),
      () => undefined,
    )
    return (await records.get(record.id)) ?? fresh
  })
}

/** Recovers every upload the store holds (see `recover`); returns how many became settled. */
export async function recoverAll(deps: TusDeps): Promise<number> {
  let settled = 0
  for await (const { id } of deps.store.listUploads()) {
    if (isPartial(id)) continue
    const record = await deps.records.get(id)
    if (!record || !isUnsettled(record)) continue
    const after = await recover(record, deps).catch((error: unknown) => {
      deps.logger.error({ err: error, uploadId: id }, 'could not recover an upload')
      return record
    })
    if (!isUnsettled(after)) settled++
  }
  return settled
}

/** The upload's maker, with the one scope making it took. */
function ownerOf(record: UploadRecord): Caller {
  return { ownerId: record.ownerId, scopes: ['photos.write'] }
}
