import {
  DarkroomError,
  type Caller,
  type Clock,
  type ServerStore,
  type UploadRecord,
  type UploadState,
} from '@darkroom/core'

/**
 * A tus upload's record in the ServerStore: its owner, and its state for `uploads.status`. The
 * tus handler (`@darkroom/http`) moves it; `uploads.status` reads it: one place for both.
 *
 *   receiving ──> processing ──> ready (with the photo id)
 *       │             │ ↺
 *       └─────────────┴──────> failed (with the violation)
 *
 * `receiving` while bytes arrive; `processing` while the finished upload is ingested (again,
 * after a crash cut an ingest off); `failed` when its first bytes or its ingest are refused,
 * it expired, or its file was lost. `ready` and `failed` are final. Partial uploads of a
 * concatenation have a record (for their owner) that is deleted once they are assembled.
 */

const NEXT: Record<UploadState, readonly UploadState[]> = {
  receiving: ['processing', 'failed'],
  processing: ['processing', 'ready', 'failed'],
  ready: [],
  failed: [],
}

type Fields = Partial<Pick<UploadRecord, 'filename' | 'size' | 'albumId' | 'photoId' | 'error'>>

export class UploadRecords {
  readonly #store: ServerStore
  readonly #clock: Clock

  constructor(store: ServerStore, clock: Clock) {
    this.#store = store
    this.#clock = clock
  }

  get(id: string): Promise<UploadRecord | null> {
    return this.#store.getUpload(id)
  }

  /** The caller's upload; NOT_FOUND when it is missing or someone else's. */
  async find(id: string | null, caller: Caller): Promise<UploadRecord> {
    const record = id ? await this.#store.getUpload(id) : null
    // Someone else's upload is NOT_FOUND, like a missing one (`uploads.status`, every tus method).
    if (!record || record.ownerId !== caller.ownerId)
      throw DarkroomError.notFound('Upload', id ?? '')
    return record
  }

  /**
   * A new upload, `receiving`, unless the caller already has `limits.count` unfinished uploads
   * or they declared `limits.bytes` (with this one): then `CAP_EXCEEDED` (`unfinishedUploads`).
   * Unfinished uploads hold disk until they finish or expire, so an owner holds only so many.
   */
  async create(
    id: string,
    caller: Caller,
    fields: Fields,
    limits?: { count: number; bytes: number },
  ): Promise<UploadRecord> {
    if (limits) {
      const { count, bytes } = await this.#store.unfinishedUploadsOf(caller.ownerId)
      const adding = fields.size ?? 0
      if (count >= limits.count || bytes + adding > limits.bytes) {
        const byCount = count >= limits.count
        throw new DarkroomError(
          'CAP_EXCEEDED',
          byCount
            ? `At most ${limits.count} unfinished uploads at once: finish or terminate one first.`
            : `Unfinished uploads may declare at most ${limits.bytes} bytes in all (${bytes} now): finish or terminate one first.`,
          {
            cap: {
              name: 'unfinishedUploads',
              limit: byCount ? limits.count : limits.bytes,
              current: byCount ? count : bytes,
              requested: byCount ? 1 : adding,
            },
          },
        )
      }
    }
    const now = this.#clock.now()
    const record: UploadRecord = {
      id,
      ownerId: caller.ownerId,
      state: 'receiving',
      filename: '',
      size: null,
      albumId: null,
      photoId: null,
      error: null,
      createdAt: now,
      ...fields,
      updatedAt: now,
    }
    await this.#store.saveUpload(record)
    return record
  }

  /** Moves the upload to `state`; a move the diagram above does not have is a bug. */
  async move(id: string, state: UploadState, fields: Fields = {}): Promise<UploadRecord> {
    const record = await this.#store.getUpload(id)
    if (!record) throw DarkroomError.notFound('Upload', id)
    if (!NEXT[record.state].includes(state)) {
      throw new Error(`Upload ${id} cannot go from ${record.state} to ${state}.`)
    }
    const next: UploadRecord = { ...record, ...fields, state, updatedAt: this.#clock.now() }
    await this.#store.saveUpload(next)
    return next
  }

  forget(id: string): Promise<void> {
    return this.#store.deleteUpload(id)
  }
}

/** Not final yet: bytes may still arrive, or an ingest may still (or again) run. */
export function isUnsettled(record: UploadRecord): boolean {
  return record.state === 'receiving' || record.state === 'processing'
}
