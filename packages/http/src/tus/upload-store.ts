import type { Readable } from 'node:stream'
import type { FileData } from '@darkroom/core'
import type { DataStore } from '@tus/utils'
import type { ChecksumSupport, DeclaredChecksum } from './checksum.js'

/**
 * Where tus uploads are kept: a tus `DataStore` plus what Darkroom needs of it. Two exist, the
 * folder (`DurableFileStore`) and the bucket (`S3UploadStore`, `@darkroom/http/s3`); the files
 * handler puts Darkroom's rules on either with one decorator (`DarkroomDataStore`).
 *
 * `extensions` lists what the store implements, named as the tus protocol names them
 * (`concatenation`, `checksum`, ...); the handler advertises and accepts exactly those.
 */
export interface UploadStore extends DataStore, ChecksumSupport {
  /**
   * Writes `readable` at `offset` and returns the new offset, which is durable when returned.
   * With `checksum`, the body is verified and, if it does not match, nothing of it is kept and
   * `CHECKSUM_MISMATCH` (460) is thrown. Only a store that lists `checksum` gets one.
   */
  write(
    readable: Readable,
    id: string,
    offset: number,
    checksum?: DeclaredChecksum | null,
  ): Promise<number>
  /** Every upload it holds, with its creation time in ms (for the expiry sweep). */
  listUploads(): AsyncIterable<{ id: string; createdAt: number }>
  /** A finished upload's bytes, as `darkroom.photos.upload` takes them. */
  openFinished(id: string, size: number | null): Promise<FileData>
  /** A finished upload's bytes as a stream (concatenation copies partial uploads with it). */
  read(id: string): Readable | Promise<Readable>
  /**
   * The first `bytes` bytes an unfinished upload holds (fewer if it holds fewer), so a type can
   * be told across PATCHes whatever their sizes. A store without it (S3: its parts are not
   * readable before the upload completes) needs the first bytes in the first PATCH.
   */
  readHead?(id: string, bytes: number): Promise<Buffer>
  /** Releases what it holds open (sockets); the uploads stay. */
  close?(): void
}
