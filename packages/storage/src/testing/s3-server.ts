import { randomUUID } from 'node:crypto'
import { mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A real S3 server for tests: `s3rver` (npm) listening on 127.0.0.1, port 0, over a temp
 * folder, with one bucket made. Its HTTP API is what the adapters talk to; nothing is mocked.
 *
 * s3rver 3.7 lacks three calls that real S3 (and MinIO, R2, ...) answer and that
 * `@tus/s3-store` and `@aws-sdk/lib-storage` make, so they are added here over s3rver's own
 * folder layout: ListParts (`GET ?uploadId`), AbortMultipartUpload (`DELETE ?uploadId`) and
 * ListMultipartUploads (`GET /bucket?uploads`). Its ListObjectsV2 pages with a DES-encrypted
 * continuation token that OpenSSL 3 (Node >= 17) refuses, so ListObjectsV2 is answered here
 * from s3rver's own store with a plain token. And s3rver writes an object in place while its
 * body arrives, where S3 swaps a whole object in at the end: its PutObject is made to write a
 * temp file and rename it, so a reader (or a concurrent writer) sees one whole body, as on S3.
 */
export interface TestS3Server {
  /** `http://127.0.0.1:<port>` */
  endpoint: string
  bucket: string
  accessKeyId: string
  secretAccessKey: string
  region: string
  /** The folder s3rver keeps the buckets in. */
  directory: string
  /** Stops the server and removes its folder. Idempotent. */
  stop(): Promise<void>
}

export interface StartS3ServerOptions {
  /** Default `darkroom-test`. */
  bucket?: string
}

// s3rver's fixed account.
const ACCESS_KEY_ID = 'S3RVER'
const SECRET_ACCESS_KEY = 'S3RVER'
const SUFFIX = '._S3rver_'

interface KoaContext {
  method: string
  path: string
  query: Record<string, string | string[] | undefined>
  status: number
  body: unknown
  type: string
  set(name: string, value: string): void
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>
interface S3rverInstance {
  middleware: Middleware[]
  store: ObjectLister
  run(): Promise<AddressInfo>
  close(): Promise<void>
}
interface ObjectLister {
  listObjects(
    bucket: string,
    options: { prefix?: string; startAfter?: string; maxKeys: number; delimiter?: string },
  ): Promise<{
    objects: { key: string; size: number; lastModifiedDate: Date; metadata: { etag: string } }[]
    commonPrefixes: string[]
    isTruncated: boolean
  }>
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance

/**
 * @example
 * const s3 = await startS3Server()
 * const blobs = createS3BlobStore({ ...s3, forcePathStyle: true })
 * afterAll(() => s3.stop())
 */
export async function startS3Server(options: StartS3ServerOptions = {}): Promise<TestS3Server> {
  const bucket = options.bucket ?? 'darkroom-test'
  const directory = await mkdtemp(join(tmpdir(), 'darkroom-s3rver-'))
  // s3rver is a dev dependency: loaded only when a test starts one.
  const specifier = 's3rver'
  const loaded = (await import(specifier)) as { default: S3rverClass }
  const S3rver = loaded.default
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket, configs: [] }],
  })
  makePutAtomic(server)
  // Before s3rver's own routes (the router is the last middleware; Koa composes on listen).
  server.middleware.splice(server.middleware.length - 1, 0, multipartShim(directory, server.store))
  const address = await server.run()
  let stopped: Promise<void> | undefined
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    region: 'us-east-1',
    directory,
    stop() {
      stopped ??= (async () => {
        await server.close().catch(() => undefined)
        await rm(directory, { recursive: true, force: true })
      })()
      return stopped
    },
  }
}

/** s3rver's PutObject writes `<key>._S3rver_object` in place; write a temp file and rename. */
function makePutAtomic(server: S3rverInstance): void {
  const store = server.store as unknown as {
    getResourcePath(bucket: string, key: string, resource: string): string
    putObject(object: { bucket: string; key: string }): Promise<unknown>
  }
  const original = store.putObject.bind(store)
  const originalPath = store.getResourcePath.bind(store)
  const redirected = new Map<string, string>()
  store.getResourcePath = (bucket, key, resource) => {
    const path = originalPath(bucket, key, resource)
    return (resource === 'object' && redirected.get(`${bucket}\u0000${key}`)) || path
  }
  // Each put gets a unique temporary key name, so concurrent puts do not share a file.
  store.putObject = async (object) => {
    const finalPath = originalPath(object.bucket, object.key, 'object')
    const tmpPath = `${finalPath}.${randomUUID()}.tmp`
    const slot = `${object.bucket}\u0000${object.key}`
    // getResourcePath is asked (synchronously) for the object path first thing in putObject.
    redirected.set(slot, tmpPath)
    const pending = original(object)
    redirected.delete(slot)
    try {
      const result = await pending
      await rename(tmpPath, finalPath)
      return result
    } catch (error) {
      await rm(tmpPath, { force: true })
      throw error
    }
  }
}

function multipartShim(root: string, store: ObjectLister): Middleware {
  const uploadsDir = (bucket: string) => join(root, bucket, SUFFIX + 'uploads')
  const xml = (ctx: KoaContext, body: string) => {
    ctx.status = 200
    ctx.type = 'application/xml'
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`
  }
  const noSuchUpload = (ctx: KoaContext, uploadId: string) => {
    ctx.status = 404
    ctx.type = 'application/xml'
    ctx.body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code>' +
      '<Message>The specified upload does not exist.</Message>' +
      `<UploadId>${escapeXml(uploadId)}</UploadId></Error>`
  }
  return async (ctx, next) => {
    // `/bucket`, `/bucket/` (the SDK's ListObjectsV2) or `/bucket/key`.
    const match = /^\/([^/]+)(?:\/(.*))?$/.exec(ctx.path)
    if (!match) return next()
    const bucket = decodeURIComponent(match[1]!)
    const key = match[2] ? decodeURIComponent(match[2]) : undefined
    const uploadId = typeof ctx.query.uploadId === 'string' ? ctx.query.uploadId : undefined

    if (key !== undefined && uploadId !== undefined && /^[0-9a-f]+$/.test(uploadId)) {
      const dir = join(uploadsDir(bucket), uploadId)
      const owner = await readFile(join(dir, 'key'), 'utf8').catch(() => null)
      if (ctx.method === 'GET' && !('partNumber' in ctx.query)) {
        if (owner !== key) return noSuchUpload(ctx, uploadId)
        const marker = Number(ctx.query['part-number-marker'] ?? 0)
        const parts: string[] = []
        const numbers = (await readdir(dir))
          .filter((name) => /^\d+$/.test(name))
          .map(Number)
          .filter((n) => n > marker)
          .sort((a, b) => a - b)
        for (const n of numbers) {
          const info = await stat(join(dir, String(n)))
          const md5 = await readFile(join(dir, `${n}.md5`), 'utf8').catch(() => '')
          parts.push(
            `<Part><PartNumber>${n}</PartNumber><LastModified>${info.mtime.toISOString()}` +
              `</LastModified><ETag>"${md5}"</ETag><Size>${info.size}</Size></Part>`,
          )
        }
        return xml(
          ctx,
          `<ListPartsResult><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key>` +
            `<UploadId>${uploadId}</UploadId><PartNumberMarker>${marker}</PartNumberMarker>` +
            `<MaxParts>10000</MaxParts><IsTruncated>false</IsTruncated>${parts.join('')}` +
            '</ListPartsResult>',
        )
      }
      if (ctx.method === 'DELETE') {
        if (owner !== key) return noSuchUpload(ctx, uploadId)
        await rm(dir, { recursive: true, force: true })
        ctx.status = 204
        ctx.body = ''
        return
      }
    }

    if (key === undefined && ctx.method === 'GET' && ctx.query['list-type'] === '2') {
      const one = (name: string) => {
        const value = ctx.query[name]
        return typeof value === 'string' && value !== '' ? value : undefined
      }
      const token = one('continuation-token')
      const startAfter = token
        ? Buffer.from(token, 'base64url').toString('utf8')
        : one('start-after')
      const maxKeys = Math.min(1000, Number(one('max-keys') ?? 1000))
      const prefix = one('prefix')
      const delimiter = one('delimiter')
      const result = await store.listObjects(bucket, { prefix, startAfter, maxKeys, delimiter })
      const last = result.objects[result.objects.length - 1]
      const contents = result.objects.map(
        (o) =>
          `<Contents><Key>${escapeXml(o.key)}</Key><LastModified>` +
          `${o.lastModifiedDate.toISOString()}</LastModified><ETag>${escapeXml(o.metadata.etag)}` +
          `</ETag><Size>${o.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      )
      const prefixes = result.commonPrefixes.map(
        (p) => `<CommonPrefixes><Prefix>${escapeXml(p)}</Prefix></CommonPrefixes>`,
      )
      const next =
        result.isTruncated && last
          ? `<NextContinuationToken>${Buffer.from(last.key).toString('base64url')}</NextContinuationToken>`
          : ''
      return xml(
        ctx,
        `<ListBucketResult><Name>${escapeXml(bucket)}</Name><Prefix>${escapeXml(prefix ?? '')}` +
          `</Prefix><KeyCount>${result.objects.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys>` +
          `<IsTruncated>${result.isTruncated}</IsTruncated>${next}${contents.join('')}` +
          `${prefixes.join('')}</ListBucketResult>`,
      )
    }

    if (key === undefined && ctx.method === 'GET' && 'uploads' in ctx.query) {
      const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : ''
      const entries: string[] = []
      const ids = await readdir(uploadsDir(bucket)).catch(() => [] as string[])
      for (const id of ids.sort()) {
        const owner = await readFile(join(uploadsDir(bucket), id, 'key'), 'utf8').catch(() => null)
        if (owner === null || !owner.startsWith(prefix)) continue
        const info = await stat(join(uploadsDir(bucket), id))
        entries.push(
          `<Upload><Key>${escapeXml(owner)}</Key><UploadId>${id}</UploadId>` +
            `<Initiated>${info.birthtime.toISOString()}</Initiated></Upload>`,
        )
      }
      return xml(
        ctx,
        `<ListMultipartUploadsResult><Bucket>${escapeXml(bucket)}</Bucket>` +
          `<Prefix>${escapeXml(prefix)}</Prefix><MaxUploads>1000</MaxUploads>` +
          `<IsTruncated>false</IsTruncated>${entries.join('')}</ListMultipartUploadsResult>`,
      )
    }
    return next()
  }
}

function escapeXml(value: string): string {
  return value.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  )
}
