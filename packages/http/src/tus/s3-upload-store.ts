import type { Readable } from 'node:stream'
import type { FileData } from '@darkroom/core'
import { S3Store } from '@tus/s3-store'
import { ERRORS, type KvStore, type Upload } from '@tus/utils'
import type { MetadataValue } from '@tus/s3-store'
import type { UploadStore } from './upload-store.js'

/**
 * tus uploads straight into the S3 bucket, through `@tus/s3-store`'s `S3Store`: each upload is
 * an S3 multipart upload at `<prefix><id>` (parts of `partSize`, 8 MiB by default), with its
 * tus info in `<prefix><id>.info` and a tail shorter than S3's 5 MiB minimum part kept in
 * `<prefix><id>.part` until the next PATCH completes it. When the last byte arrives the
 * multipart upload is completed, and the finished upload is one object, which the tus handler
 * streams into the engine and then removes. Nothing lives on the server's disk, so any process
 * behind the load balancer can serve any PATCH (with a shared locker).
 *
 * What it adds to the stock store (Darkroom's rules, the first-bytes check and ingest when
 * filled, are put on it by the files handler, as on the folder store: darkroom-data-store.ts):
 *
 * - A key prefix inside the bucket (the stock store writes at the bucket's root), applied to
 *   every request its client sends.
 * - No in-memory cache of upload info (the stock store keeps one per process, which another
 *   process behind the same load balancer cannot see or invalidate).
 * - `remove` also removes a finished upload's object (the stock one gives up when the
 *   multipart upload is already completed) and the `.part` tail.
 * - `listUploads` (the `.info` objects and their times), so that the handler removes expired
 *   uploads under their lock, and `openFinished` (the completed object, streamed).
 *
 * Extensions: creation, creation-with-upload, termination, expiration. Not checksum (parts
 * are sent to S3 as they arrive and could not be taken back on a mismatch) nor concatenation
 * (`S3Store` has none): the handler refuses both with S3, and does not advertise them.
 */
export interface S3UploadStoreOptions {
  bucket: string
  /** Key prefix of the uploads inside the bucket, e.g. `uploads/` or `darkroom/uploads/`. */
  prefix: string
  region: string
  endpoint?: string
  forcePathStyle?: boolean
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  /** Preferred S3 part size in bytes (5 MiB at least). Default 8 MiB. */
  partSize?: number
}

export const S3_UPLOAD_EXTENSIONS = [
  'creation',
  'creation-with-upload',
  'termination',
  'expiration',
] as const

const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/

/** Metadata read from the bucket on every request: nothing kept between requests. */
class NoCache implements KvStore<MetadataValue> {
  async get(): Promise<undefined> {
    return undefined
  }
  async set(): Promise<void> {}
  async delete(): Promise<void> {}
}

interface CommandArgs {
  input: Record<string, unknown>
}
interface CommandOutput {
  output: Record<string, unknown>
}
type Handler = (args: CommandArgs) => Promise<CommandOutput>

export class S3UploadStore extends S3Store implements UploadStore {
  readonly label = 'S3 storage'
  /** Parts go to S3 as they arrive and could not be taken back on a mismatch. */
  readonly checksumAlgorithms = [] as const
  readonly #prefix: string

  constructor(options: S3UploadStoreOptions) {
    const custom = options.endpoint !== undefined
    super({
      partSize: options.partSize ?? 8 * 1024 * 1024,
      useTags: false,
      cache: new NoCache(),
      s3ClientConfig: {
        bucket: options.bucket,
        region: options.region,
        ...(custom
          ? {
              endpoint: options.endpoint,
              // See S3BlobStore: S3-compatible servers get only the checksums S3 requires.
              requestChecksumCalculation: 'WHEN_REQUIRED',
              responseChecksumValidation: 'WHEN_REQUIRED',
            }
          : {}),
        ...(options.forcePathStyle !== undefined ? { forcePathStyle: options.forcePathStyle } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      },
    })
    this.#prefix = options.prefix
    this.extensions = [...S3_UPLOAD_EXTENSIONS]
    this.#prefixKeys()
  }

  /** Every key the store's client sends gets the prefix; every key it gets back loses it. */
  #prefixKeys(): void {
    const prefix = this.#prefix
    if (!prefix) return
    const add = (key: unknown) => (typeof key === 'string' ? prefix + key : key)
    const strip = (key: unknown) =>
      typeof key === 'string' && key.startsWith(prefix) ? key.slice(prefix.length) : key
    const stack = (this.client as unknown as { middlewareStack: MiddlewareStack }).middlewareStack
    stack.add(
      (next: Handler) => async (args: CommandArgs) => {
        const input = { ...args.input }
        if ('Key' in input) input.Key = add(input.Key)
        if ('Prefix' in input || 'ContinuationToken' in input || 'KeyMarker' in input) {
          input.Prefix = prefix + String(input.Prefix ?? '')
          if (typeof input.KeyMarker === 'string') input.KeyMarker = add(input.KeyMarker)
        }
        const del = input.Delete as { Objects?: { Key?: string }[] } | undefined
        if (del?.Objects) {
          input.Delete = { ...del, Objects: del.Objects.map((o) => ({ ...o, Key: add(o.Key) })) }
        }
        const result = await next({ ...args, input })
        const output = result.output
        for (const list of ['Contents', 'Uploads'] as const) {
          const items = output[list] as { Key?: string }[] | undefined
          if (items) output[list] = items.map((item) => ({ ...item, Key: strip(item.Key) }))
        }
        if ('Key' in output) output.Key = strip(output.Key)
        return result
      },
      { step: 'initialize', name: 'darkroomKeyPrefix' },
    )
  }

  override async getUpload(id: string): Promise<Upload> {
    if (!ID_PATTERN.test(id)) throw ERRORS.FILE_NOT_FOUND
    return super.getUpload(id)
  }

  /** The finished upload's bytes (the completed object). */
  override async read(id: string): Promise<Readable> {
    if (!ID_PATTERN.test(id)) throw ERRORS.FILE_NOT_FOUND
    return super.read(id)
  }

  openFinished(id: string): Promise<FileData> {
    return this.read(id)
  }

  /**
   * Aborts the multipart upload if it is still open, then deletes the object (a finished
   * upload), its info and its `.part` tail. FILE_NOT_FOUND (404) when there is no such upload.
   */
  override async remove(id: string): Promise<void> {
    if (!ID_PATTERN.test(id)) throw ERRORS.FILE_NOT_FOUND
    let uploadId: string
    try {
      uploadId = (await this.getMetadata(id))['upload-id']
    } catch (error) {
      if (isNotFound(error)) throw ERRORS.FILE_NOT_FOUND
      throw error
    }
    if (uploadId) {
      try {
        await this.client.abortMultipartUpload({ Bucket: this.bucket, Key: id, UploadId: uploadId })
      } catch (error) {
        // Completed (the upload is the object now) or aborted already.
        if (!isNotFound(error)) throw error
      }
    }
    await this.client.deleteObjects({
      Bucket: this.bucket,
      Delete: {
        Objects: [{ Key: id }, { Key: this.partKey(id, true) }, { Key: this.infoKey(id) }],
      },
    })
  }

  async *listUploads(): AsyncIterable<{ id: string; createdAt: number }> {
    let token: string | undefined
    do {
      const page = await this.client.listObjectsV2({
        Bucket: this.bucket,
        Prefix: '',
        ...(token ? { ContinuationToken: token } : {}),
      })
      for (const object of page.Contents ?? []) {
        const key = object.Key ?? ''
        const id = key.endsWith('.info') ? key.slice(0, -'.info'.length) : ''
        // The info object is written once, at creation (no tags, no deferred length).
        const createdAt = object.LastModified?.getTime()
        if (ID_PATTERN.test(id) && createdAt !== undefined) yield { id, createdAt }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
  }

  /** Stops the client's sockets. */
  close(): void {
    this.client.destroy()
  }
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: number } }
  const code = typeof e?.Code === 'string' ? e.Code : e?.name
  return (
    code === 'NoSuchKey' ||
    code === 'NoSuchUpload' ||
    code === 'NotFound' ||
    e?.$metadata?.httpStatusCode === 404
  )
}

interface MiddlewareStack {
  add(middleware: (next: Handler) => Handler, options: { step: 'initialize'; name: string }): void
}
