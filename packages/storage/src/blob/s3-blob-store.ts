import { Readable } from 'node:stream'
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type GetObjectCommandOutput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import {
  DarkroomError,
  type BlobBody,
  type BlobInfo,
  type BlobStore,
  type ByteRange,
} from '@darkroom/core'
import {
  assertBlobKey,
  assertBlobPrefix,
  isValidBlobKey,
  resolveByteRange,
} from '@darkroom/core/adapter-kit'

/**
 * Blobs as objects in an S3 bucket (AWS, or any S3-compatible server: MinIO, R2, s3rver...).
 *
 * - Writes stream through `@aws-sdk/lib-storage`'s `Upload`: one PutObject for a body smaller
 *   than a part, a multipart upload otherwise (`queueSize` parts in flight, so memory stays at
 *   about `queueSize * partSize`). `put` resolves once S3 has acknowledged the whole object; S3
 *   swaps an object in whole, so a reader never sees part of one. A body that fails aborts the
 *   multipart upload and leaves the previous object.
 * - Reads use `Range: bytes=start-end`. A server that answers a range other than the one asked
 *   (or ignores it) is corrected here, so the stream always holds exactly the requested bytes.
 * - Keys are validated like every adapter's (`[a-z0-9][a-z0-9/._-]*`) and live under an
 *   optional `prefix` inside the bucket.
 * - Errors: a missing object is `null` (get, stat) or `NOT_FOUND` (copy); anything else is an
 *   `S3BlobStoreError` naming the operation, key, S3 code and HTTP status, never credentials.
 * - Checksums: with a custom `endpoint` (an S3-compatible server) the client only sends the
 *   checksums S3 requires, since several such servers store the aws-chunked framing of the
 *   SDK's default trailing checksums as object bytes; on AWS the SDK default applies.
 *
 * This module is its own entry (`@darkroom/storage/s3`): users of the folder store never load
 * the AWS SDK.
 */
export interface S3BlobStoreOptions {
  bucket: string
  /** A key prefix inside the bucket (`darkroom/` puts blobs under `darkroom/photos/...`). */
  prefix?: string
  /** Default `us-east-1` (S3-compatible servers mostly ignore it). */
  region?: string
  /** An S3-compatible server's URL, e.g. `http://127.0.0.1:4568`. Default: AWS. */
  endpoint?: string
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. */
  forcePathStyle?: boolean
  /** Default: the AWS SDK's chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile, role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  /** Multipart part size in bytes, at least 5 MiB. Default 8 MiB. */
  partSize?: number
  /** Parts uploaded at once by one `put`. Default 2. */
  queueSize?: number
  /** Keys asked for per ListObjectsV2 page (S3 answers at most 1000). Default 1000. */
  listPageSize?: number
  /** More S3 client settings (retries, timeouts, checksum modes...). */
  clientConfig?: Omit<S3ClientConfig, 'region' | 'endpoint' | 'forcePathStyle' | 'credentials'>
  /** Your own client instead; the store owns it (`close()` destroys it). */
  client?: S3Client
}

const MIN_PART_SIZE = 5 * 1024 * 1024
const DEFAULT_PART_SIZE = 8 * 1024 * 1024

/** What the store throws for an S3 failure that is not a missing object. */
export class S3BlobStoreError extends Error {
  override readonly name = 'S3BlobStoreError'
  constructor(
    message: string,
    /** S3's error code (`AccessDenied`, `NoSuchBucket`, ...), when it sent one. */
    readonly code: string | undefined,
    readonly statusCode: number | undefined,
  ) {
    super(message)
  }
}

export class S3BlobStore implements BlobStore {
  readonly bucket: string
  readonly prefix: string
  readonly client: S3Client
  readonly #partSize: number
  readonly #queueSize: number
  readonly #secrets: string[]
  readonly #listPageSize: number
  #closed = false

  constructor(options: S3BlobStoreOptions) {
    if (!options?.bucket) throw new Error('S3BlobStore: the `bucket` option is required.')
    this.bucket = options.bucket
    this.prefix = normalizePrefix(options.prefix)
    this.#partSize = Math.max(MIN_PART_SIZE, options.partSize ?? DEFAULT_PART_SIZE)
    this.#queueSize = Math.max(1, options.queueSize ?? 2)
    this.#listPageSize = Math.min(1000, Math.max(1, options.listPageSize ?? 1000))
    const credentials = options.credentials
    this.#secrets = [credentials?.secretAccessKey, credentials?.sessionToken].filter(
      (s): s is string => typeof s === 'string' && s.length > 0,
    )
    this.client =
      options.client ??
      new S3Client({
        ...(options.endpoint
          ? {
              requestChecksumCalculation: 'WHEN_REQUIRED',
              responseChecksumValidation: 'WHEN_REQUIRED',
            }
          : {}),
        ...options.clientConfig,
        region: options.region ?? 'us-east-1',
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.forcePathStyle !== undefined ? { forcePathStyle: options.forcePathStyle } : {}),
        ...(credentials ? { credentials } : {}),
      })
  }

  async put(
    key: string,
    body: BlobBody,
    options?: { contentType?: string },
  ): Promise<{ size: number }> {
    const objectKey = this.#key(key)
    let size = 0
    let source: Uint8Array | Readable
    if (body instanceof Uint8Array) {
      size = body.byteLength
      source = body
    } else {
      source = Readable.from(
        counted(body, (n) => (size += n)),
        { objectMode: false },
      )
    }
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: objectKey,
        Body: source,
        ...(options?.contentType ? { ContentType: options.contentType } : {}),
      },
      partSize: this.#partSize,
      queueSize: this.#queueSize,
      leavePartsOnError: false,
    })
    try {
      await upload.done()
    } catch (error) {
      if (source instanceof Readable) source.destroy()
      // The body's own failure is the caller's to see as it was thrown.
      if (isSdkError(error)) throw this.#error('put', key, error)
      throw error
    }
    return { size }
  }

  async get(key: string, range?: ByteRange): Promise<Readable | null> {
    const objectKey = this.#key(key)
    // Validates the range (VALIDATION) before any request.
    if (range) resolveByteRange(range, Number.MAX_SAFE_INTEGER)
    const ranged = range !== undefined && (range.start > 0 || range.end !== undefined)
    let output: GetObjectCommandOutput
    try {
      output = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          ...(ranged ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}),
        }),
      )
    } catch (error) {
      if (isMissing(error)) return null
      // The range starts at or past the end of the blob (or the blob is empty).
      if (ranged && (errorCode(error) === 'InvalidRange' || statusOf(error) === 416)) {
        return Readable.from([])
      }
      throw this.#error('get', key, error)
    }
    const body = output.Body as Readable | undefined
    if (!body) return Readable.from([])
    if (!ranged) return body
    // What the server sent: `bytes a-b/total`, or the whole object if it ignored the range.
    const sent = parseContentRange(output.ContentRange) ?? {
      start: 0,
      end: (output.ContentLength ?? 0) - 1,
      total: output.ContentLength ?? 0,
    }
    const wanted = resolveByteRange(range, sent.total ?? sent.end + 1)
    if (sent.start === wanted.start && sent.end + 1 === wanted.end) return body
    if (sent.start > wanted.start || sent.end + 1 < wanted.end) {
      body.destroy()
      throw new S3BlobStoreError(
        `S3 get of ${JSON.stringify(key)} answered bytes ${sent.start}-${sent.end} for ` +
          `${wanted.start}-${wanted.end - 1}.`,
        undefined,
        undefined,
      )
    }
    return slice(body, wanted.start - sent.start, wanted.end - wanted.start)
  }

  async stat(key: string): Promise<BlobInfo | null> {
    const objectKey = this.#key(key)
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }),
      )
      return { key, size: head.ContentLength ?? 0, lastModified: head.LastModified ?? new Date(0) }
    } catch (error) {
      if (isMissing(error)) return null
      throw this.#error('stat', key, error)
    }
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.#key(key)
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }))
    } catch (error) {
      if (isMissing(error)) return
      throw this.#error('delete', key, error)
    }
  }

  async copy(from: string, to: string): Promise<void> {
    const source = this.#key(from, 'from')
    const target = this.#key(to, 'to')
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: target,
          // Keys are [a-z0-9/._-] only: nothing in them needs encoding.
          CopySource: `${this.bucket}/${source}`,
        }),
      )
    } catch (error) {
      if (isMissing(error)) {
        throw new DarkroomError('NOT_FOUND', `Blob ${JSON.stringify(from)} was not found.`)
      }
      throw this.#error('copy', from, error)
    }
  }

  async *list(prefix = ''): AsyncIterable<BlobInfo> {
    assertBlobPrefix(prefix)
    let token: string | undefined
    do {
      let page
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            MaxKeys: this.#listPageSize,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        )
      } catch (error) {
        throw this.#error('list', prefix, error)
      }
      for (const object of page.Contents ?? []) {
        if (!object.Key?.startsWith(this.prefix)) continue
        const key = object.Key.slice(this.prefix.length)
        if (!key.startsWith(prefix) || !isValidBlobKey(key)) continue
        yield { key, size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.client.destroy()
  }

  #key(key: string, property = 'key'): string {
    assertBlobKey(key, property)
    return this.prefix + key
  }

  /** An S3 failure as an error with the operation, key and code, and no credentials. */
  #error(operation: string, key: string, error: unknown): Error {
    if (!isSdkError(error)) return error instanceof Error ? error : new Error(String(error))
    const code = errorCode(error)
    const status = statusOf(error)
    let detail = error instanceof Error ? error.message : ''
    for (const secret of this.#secrets) detail = detail.split(secret).join('***')
    const what = [code, status ? `HTTP ${status}` : undefined].filter(Boolean).join(', ')
    return new S3BlobStoreError(
      `S3 ${operation} of ${JSON.stringify(key)} in bucket ${JSON.stringify(this.bucket)} ` +
        `failed (${what || 'no response'})${detail ? `: ${detail}` : ''}`,
      code,
      status,
    )
  }
}

/**
 * @example
 * const blobs = createS3BlobStore({
 *   bucket: 'photos',
 *   endpoint: 'http://127.0.0.1:4568',
 *   forcePathStyle: true,
 * })
 */
export function createS3BlobStore(options: S3BlobStoreOptions): S3BlobStore {
  return new S3BlobStore(options)
}

function normalizePrefix(prefix: string | undefined): string {
  if (!prefix) return ''
  const trimmed = prefix.replace(/^\/+|\/+$/g, '')
  if (trimmed === '') return ''
  if (!isValidBlobKey(trimmed)) {
    throw new Error(`S3BlobStore: invalid \`prefix\` ${JSON.stringify(prefix)}.`)
  }
  return `${trimmed}/`
}

async function* counted(
  body: Readable | AsyncIterable<Uint8Array>,
  add: (n: number) => void,
): AsyncGenerator<Buffer> {
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk)
    add(buffer.byteLength)
    yield buffer
  }
}

/** `skip` bytes dropped, then at most `take` bytes; the source is destroyed when done. */
function slice(source: Readable, skip: number, take: number): Readable {
  async function* sliced() {
    let toSkip = skip
    let left = take
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        let part = chunk
        if (toSkip > 0) {
          const dropped = Math.min(toSkip, part.byteLength)
          part = part.subarray(dropped)
          toSkip -= dropped
        }
        if (part.byteLength === 0) continue
        if (part.byteLength >= left) {
          if (left > 0) yield part.subarray(0, left)
          left = 0
          return
        }
        left -= part.byteLength
        yield part
      }
    } finally {
      source.destroy()
    }
  }
  return Readable.from(sliced(), { objectMode: false })
}

function parseContentRange(
  header: string | undefined,
): { start: number; end: number; total: number | undefined } | null {
  const match = header ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim()) : null
  if (!match) return null
  return {
    start: Number(match[1]),
    end: Number(match[2]),
    total: match[3] === '*' ? undefined : Number(match[3]),
  }
}

function isSdkError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && '$metadata' in error
}

function errorCode(error: unknown): string | undefined {
  const e = error as { Code?: unknown; name?: unknown } | null
  if (typeof e?.Code === 'string') return e.Code
  return isSdkError(error) && typeof e?.name === 'string' ? e.name : undefined
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata
    ?.httpStatusCode
  return typeof status === 'number' ? status : undefined
}

function isMissing(error: unknown): boolean {
  const code = errorCode(error)
  if (code === 'NoSuchBucket') return false
  return code === 'NoSuchKey' || code === 'NotFound' || statusOf(error) === 404
}
