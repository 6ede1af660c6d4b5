import { Readable } from 'node:stream'
import { DarkroomError, type Caller, type Darkroom, type FileData } from '@darkroom/core'
import type { Upload } from '@tus/utils'
import { toHttpError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { UploadRecords } from '@darkroom/trpc'
import type { UploadStore } from './upload-store.js'
import { fromTusMetadata } from './upload-metadata.js'

/**
 * A finished tus upload becomes a photo: `processing`, then `darkroom.photos.upload` with the
 * upload's bytes where they are (the file, or the object streamed), then `ready` with the
 * photo id, or `failed` with the violation, its bytes removed and the error rethrown (for the
 * request to answer it). Whoever calls `run` holds the upload's lock.
 */
export interface IngestDeps {
  darkroom: Darkroom
  records: UploadRecords
  store: UploadStore
  logger: Logger
}

export class UploadIngest {
  readonly #deps: IngestDeps
  /** The ingests under way in this process, by upload id: settled when each is done. */
  readonly #running = new Map<string, Promise<void>>()

  constructor(deps: IngestDeps) {
    this.#deps = deps
  }

  /** An ingest of `id` is under way in this process (its lock is held meanwhile). */
  isRunning(id: string): boolean {
    return this.#running.has(id)
  }

  /** Settles when the ingest of `id` under way in this process (if any) is done, either way. */
  async whenDone(id: string): Promise<void> {
    await this.#running.get(id)
  }

  /** Ingests the finished `upload` as `caller`; returns the photo id. */
  async run(upload: Upload, caller: Caller): Promise<string> {
    const { darkroom, records, store, logger } = this.#deps
    const id = upload.id
    const size = upload.size ?? upload.offset
    let done!: () => void
    this.#running.set(id, new Promise<void>((resolve) => (done = resolve)))
    let data: FileData | undefined
    try {
      await records.move(id, 'processing', { size })
      const metadata = fromTusMetadata(upload.metadata)
      data = await store.openFinished(id, size)
      const result = await darkroom.photos.upload(caller, {
        files: [{ filename: metadata.filename, data }],
        albumId: metadata.albumId,
        category: metadata.category,
        pending: metadata.pending,
      })
      const photoId = photoIdOf(result)
      await records.move(id, 'ready', { photoId, error: null })
      logger.info({ uploadId: id, photoId, duplicate: !result.uploaded[0] }, 'upload ingested')
      return photoId
    } catch (error) {
      closeUnread(data)
      await records
        .move(id, 'failed', { error: toHttpError(error).body.error.message })
        .catch((err: unknown) =>
          logger.error({ err, uploadId: id }, 'could not record a failed upload'),
        )
      await removeQuietly(store, id, logger)
      throw error
    } finally {
      this.#running.delete(id)
      done()
    }
  }
}

/** The stored photo, or the one it duplicates; a file skipped for another reason is refused. */
function photoIdOf(result: Awaited<ReturnType<Darkroom['photos']['upload']>>): string {
  const photoId = result.uploaded[0]?.id ?? result.skipped[0]?.existingId
  if (photoId) return photoId
  const message = result.skipped[0]?.message ?? 'The file was not stored.'
  throw new DarkroomError('VALIDATION', message, {
    violations: [{ property: 'file', message }],
  })
}

/**
 * A stream of the upload's bytes that core refused before reading (a scope, a cap): destroyed,
 * with a listener, so its source going away (the file removed next) is no uncaught error.
 */
function closeUnread(data: FileData | undefined): void {
  if (data instanceof Readable && !data.destroyed) {
    data.on('error', () => undefined)
    data.destroy()
  }
}

/** Removes an upload's bytes; one already gone is fine, another failure is only logged. */
export async function removeQuietly(store: UploadStore, id: string, logger: Logger): Promise<void> {
  await store.remove(id).catch((error: unknown) => {
    if ((error as { status_code?: number })?.status_code === 404) return
    logger.warn({ err: error, uploadId: id }, 'could not remove an upload file')
  })
}
