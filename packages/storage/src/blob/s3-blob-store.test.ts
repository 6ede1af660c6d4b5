import { randomBytes, randomUUID } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeBlobStoreContract, readAllBytes } from '../testing/blob-store.contract.js'
import { startS3Server, type TestS3Server } from '../testing/s3-server.js'
import { createS3BlobStore, S3BlobStore, type S3BlobStoreOptions } from './s3-blob-store.js'

// A real s3rver on 127.0.0.1 (see testing/s3-server.ts), one for the whole file.
let s3: TestS3Server
beforeAll(async () => {
  s3 = await startS3Server()
})
afterAll(() => s3?.stop())

const optionsFor = (extra: Partial<S3BlobStoreOptions> = {}): S3BlobStoreOptions => ({
  bucket: s3.bucket,
  endpoint: s3.endpoint,
  region: s3.region,
  forcePathStyle: true,
  credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  ...extra,
})

describeBlobStoreContract({
  name: 'S3BlobStore (s3rver)',
  create: () => createS3BlobStore(optionsFor()),
  cleanup: (store) => store.close?.(),
})

// The same suite with the store confined to a prefix of a shared bucket.
describeBlobStoreContract({
  name: 'S3BlobStore with a key prefix (s3rver)',
  create: () => createS3BlobStore(optionsFor({ prefix: 'tenant-a/' })),
  cleanup: (store) => store.close?.(),
})

describe('S3BlobStore against s3rver', () => {
  const raw = () =>
    new S3Client({
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    })

  it('writes a large body as a multipart upload and reads ranges across its parts', async () => {
    const store = createS3BlobStore(optionsFor({ partSize: 5 * 1024 * 1024, queueSize: 2 }))
    const bytes = randomBytes(12 * 1024 * 1024 + 123)
    const key = `multi-${randomUUID()}/original`
    // Fed in odd-sized chunks so parts never line up with them.
    const chunks = Array.from({ length: Math.ceil(bytes.length / 777_777) }, (_, i) =>
      bytes.subarray(i * 777_777, (i + 1) * 777_777),
    )
    expect(await store.put(key, Readable.from(chunks), { contentType: 'image/jpeg' })).toEqual({
      size: bytes.length,
    })
    expect((await store.stat(key))!.size).toBe(bytes.length)
    const whole = await readAllBytes((await store.get(key))!)
    expect(whole.equals(bytes)).toBe(true)
    const start = 5 * 1024 * 1024 - 10
    const part = await readAllBytes((await store.get(key, { start, end: start + 19 }))!)
    expect(part.equals(bytes.subarray(start, start + 20))).toBe(true)
    // Content type kept; no multipart upload left behind in s3rver's folder.
    const object = await raw().send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))
    expect(object.ContentType).toBe('image/jpeg')
    object.Body && (object.Body as Readable).destroy()
    const pending = await readdir(join(s3.directory, s3.bucket, '._S3rver_uploads')).catch(() => [])
    expect(pending).toEqual([])
    await store.close()
  })

  it('a large body that fails midway aborts its multipart upload and keeps the old blob', async () => {
    const store = createS3BlobStore(optionsFor({ partSize: 5 * 1024 * 1024 }))
    const key = `abort-${randomUUID()}`
    await store.put(key, Buffer.from('old'))
    async function* failing() {
      for (let i = 0; i < 12; i++) yield new Uint8Array(1024 * 1024)
      throw new Error('camera unplugged')
    }
    await expect(store.put(key, failing())).rejects.toThrow('camera unplugged')
    expect((await readAllBytes((await store.get(key))!)).toString()).toBe('old')
    const pending = await readdir(join(s3.directory, s3.bucket, '._S3rver_uploads')).catch(() => [])
    expect(pending).toEqual([])
    await store.close()
  })

  it('keeps blobs under its prefix and lists only those', async () => {
    const prefix = `p-${randomUUID()}`
    const inside = createS3BlobStore(optionsFor({ prefix }))
    const outside = createS3BlobStore(optionsFor())
    await inside.put('photos/1/original', Buffer.from('in'))
    expect(await outside.stat(`${prefix}/photos/1/original`)).toMatchObject({ size: 2 })
    await outside.put(`${prefix}x/photos/2/original`, Buffer.from('beside'))
    const keys: string[] = []
    for await (const info of inside.list()) keys.push(info.key)
    expect(keys).toEqual(['photos/1/original'])
    await inside.close()
    await outside.close()
  })

  it('lists across pages', async () => {
    const store = createS3BlobStore(optionsFor({ listPageSize: 3 }))
    const base = `paged-${randomUUID()}`
    const many = Array.from({ length: 11 }, (_, i) => `${base}/k${String(i).padStart(2, '0')}`)
    await Promise.all(many.map((k) => store.put(k, new Uint8Array(1))))
    const seen: string[] = []
    for await (const info of store.list(`${base}/`)) seen.push(info.key)
    expect(seen.sort()).toEqual(many)
    await store.close()
  })

  it('a missing bucket is an error naming it, without the secret', async () => {
    const secret = s3.secretAccessKey
    const store = createS3BlobStore(optionsFor({ bucket: 'no-such-bucket' }))
    const error = await store.put('k', Buffer.from('x')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toContain('no-such-bucket')
    expect((error as Error).message).toContain('NoSuchBucket')
    expect((error as Error).message).not.toContain(secret)
    await expect(store.get('k')).rejects.toThrow(/no-such-bucket/)
    await expect(store.copy('k', 'j')).rejects.toThrow(/NoSuchBucket/)
    await store.close()
  })

  it('refuses a missing bucket option and an invalid prefix', () => {
    expect(() => new S3BlobStore({ bucket: '' })).toThrow('the `bucket` option is required')
    expect(() => new S3BlobStore({ bucket: 'b', prefix: 'A B' })).toThrow('invalid `prefix`')
  })

  it('close destroys the client; a second close is harmless', async () => {
    const store = createS3BlobStore(optionsFor())
    await store.put(`c-${randomUUID()}`, randomBytes(10))
    await store.close()
    await store.close()
  })
})
