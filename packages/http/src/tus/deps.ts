import type { Darkroom } from '@darkroom/core'
import type { Logger } from '../logger.js'
import type { UploadIngest } from './ingest.js'
import type { RequestLocks } from './request-locks.js'
import type { UploadRecords } from '@darkroom/trpc'
import type { UploadStore } from './upload-store.js'

/** What the tus modules share, built once by `createFilesHandler`. */
export interface TusDeps {
  darkroom: Darkroom
  records: UploadRecords
  /** The store itself, without Darkroom's rules: the handler's own reads, writes and removals. */
  store: UploadStore
  ingest: UploadIngest
  locks: RequestLocks
  logger: Logger
  /** The mount path, e.g. `/files`. */
  path: string
  /** Unfinished uploads one owner may hold: how many, and the bytes they declare in all. */
  unfinished: { count: number; bytes: number }
}
