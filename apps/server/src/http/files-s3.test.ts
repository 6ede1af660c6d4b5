import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createS3BlobStore, type S3BlobStore } from '@darkroom/storage/s3'
import { readAllBytes } from '@darkroom/storage/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  makeNoiseJpeg,
  PDF_BYTES,
  sha256,
  startServer,
  type TestServer,
} from '../testing/harness.js'
import {
  startTusUpload,
  uploadFirstChunk,
  uploadIdOf,
  type TusTarget,
} from '../testing/tus-upload.js'
import {
  startS3Server,
  type TestS3Server,
} from '../../../../packages/storage/src/testing/s3-server.js'

/**
 * The server with `BLOB_URL=s3://...` against a real s3rver on 127.0.0.1: tus-js-client
 * uploads go straight into the bucket (`@tus/s3-store`), the engine's blobs too.
 */

const MiB = 1024 * 1024
const PREFIX = 'site-a'

let s3: TestS3Server
let server: TestServer
let aliceKey: string
/** The bucket seen through the blob adapter, at the bucket's root. */
let bucket: S3BlobStore

function s3Env(extra: Record<string, string> = {}, prefix = PREFIX): Record<string, string> {
  return {
    BLOB_URL: `s3://${s3.bucket}/${prefix}?endpoint=${s3.endpoint}&forcePathStyle=true`,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
    MAX_FILE_MB: '20',
    ...extra,
  }
}

beforeAll(async () => {
  s3 = await startS3Server()
  server = await startServer({ env: s3Env() })
  aliceKey = await server.key('alice')
  bucket = createS3BlobStore({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  })
})
afterAll(async () => {
  await server?.close()
  await bucket?.close()
  await s3?.stop()
})

/** Uploads as alice to the shared server. */
const asAlice = (): TusTarget => ({ url: server.url, key: aliceKey })

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = []
  for await (const info of bucket.list(prefix)) keys.push(info.key)
  return keys.sort()
}

/** The keys of the multipart uploads s3rver holds open under `prefix` (from its own folder). */
async function openMultipartUploads(prefix = ''): Promise<string[]> {
  const dir = join(s3.directory, s3.bucket, '._S3rver_uploads')
  const keys: string[] = []
  for (const id of await readdir(dir).catch(() => [])) {
    const key = await readFile(join(dir, id, 'key'), 'utf8').catch(() => '')
    if (key.startsWith(prefix)) keys.push(key)
  }
  return keys
}

async function waitFor(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const until = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('tus uploads into S3', () => {
  it('advertises only the extensions the S3 store has', async () => {
    const res = await fetch(`${server.url}/files`, {
      method: 'OPTIONS',
      headers: { 'Tus-Resumable': '1.0.0' },
    })
    const extensions = (res.headers.get('tus-extension') ?? '').split(',').map((e) => e.trim())
    expect(extensions).toEqual(expect.arrayContaining(['creation', 'termination', 'expiration']))
    expect(extensions).not.toContain('checksum')
    expect(extensions).not.toContain('concatenation')
    expect(res.headers.get('tus-checksum-algorithm')).toBeNull()
  })

  it('uploads a multi-chunk file into the bucket; the original is the same bytes', async () => {
    // About 9 MB in 4 MiB PATCHes: a tail under S3's 5 MiB part minimum, an 8 MiB part, the end.
    const data = await makeNoiseJpeg(3200, 3200, 11)
    expect(data.length).toBeGreaterThan(8 * MiB)
    const { done } = startTusUpload(asAlice(), data, {
      chunkSize: 4 * MiB,
      metadata: { filename: 'big.jpg' },
    })
    const outcome = await done
    expect(outcome.body).toBeNull()
    expect(outcome.photoId).toMatch(/^[0-9a-f-]{36}$/)
    const photoId = outcome.photoId!
    const uploadId = uploadIdOf(outcome.upload)

    const original = await bucket.get(`${PREFIX}/photos/${photoId}/original`)
    expect(original).not.toBeNull()
    expect(sha256(await readAllBytes(original!))).toBe(sha256(data))

    const alice = server.client(aliceKey)
    const listed = await alice.photos.list.query({})
    const photo = listed.items.find((p) => p.id === photoId)
    expect(photo).toMatchObject({ filename: 'big.jpg', width: 3200, height: 3200 })
    const small = photo!.variants.small
    expect(small).toBeTruthy()
    const variant = await fetch(`${server.url}${small}`, {
      headers: { authorization: `Bearer ${aliceKey}` },
    })
    expect(variant.status).toBe(200)
    expect((await variant.arrayBuffer()).byteLength).toBeGreaterThan(100)
    expect(await alice.uploads.status.query({ id: uploadId })).toMatchObject({
      state: 'ready',
      photoId,
    })

    // The upload's object, info and tail are gone from the bucket, no multipart upload is open.
    await waitFor(async () => (await keysUnder(`${PREFIX}/uploads/`)).length === 0)
    expect(await openMultipartUploads(`${PREFIX}/uploads/${uploadId}`)).toEqual([])
    // Blobs are under the prefix, nothing at the bucket's root.
    expect((await keysUnder('photos/')).length).toBe(0)
  })

  it('resumes an interrupted upload from the offset S3 holds', async () => {
    const data = await makeNoiseJpeg(1800, 1800, 12)
    const first = await uploadFirstChunk(asAlice(), data, {
      chunkSize: 2 * MiB,
      metadata: { filename: 'resumed.jpg' },
    })
    const url = first.url!
    const head = await fetch(url, {
      method: 'HEAD',
      headers: { 'Tus-Resumable': '1.0.0', authorization: `Bearer ${aliceKey}` },
    })
    expect(head.status).toBe(200)
    // The first 2 MiB are below S3's part minimum: the store keeps them as the `.part` tail.
    expect(Number(head.headers.get('upload-offset'))).toBe(2 * MiB)
    expect(await keysUnder(`${PREFIX}/uploads/${uploadIdOf(first)}`)).toEqual(
      expect.arrayContaining([
        `${PREFIX}/uploads/${uploadIdOf(first)}.info`,
        `${PREFIX}/uploads/${uploadIdOf(first)}.part`,
      ]),
    )

    const { done } = startTusUpload(asAlice(), data, { uploadUrl: url, chunkSize: 4 * MiB })
    const outcome = await done
    expect(outcome.body).toBeNull()
    expect(outcome.photoId).toBeTruthy()
    const original = await bucket.get(`${PREFIX}/photos/${outcome.photoId}/original`)
    expect(sha256(await readAllBytes(original!))).toBe(sha256(data))
  })

  it('refuses a file of the wrong type at its first bytes and leaves nothing in the bucket', async () => {
    const { done } = startTusUpload(asAlice(), PDF_BYTES, { metadata: { filename: 'doc.pdf' } })
    const outcome = await done
    expect(outcome.status).toBe(422)
    expect(outcome.body).toContain('"code"')
    const id = uploadIdOf(outcome.upload)
    await waitFor(async () => (await keysUnder(`${PREFIX}/uploads/${id}`)).length === 0)
    expect(await openMultipartUploads(`${PREFIX}/uploads/${id}`)).toEqual([])
    const status = await server.client(aliceKey).uploads.status.query({ id })
    expect(status.state).toBe('failed')
  })

  it('refuses checksums and concatenation, which it does not advertise', async () => {
    const auth = { authorization: `Bearer ${aliceKey}`, 'Tus-Resumable': '1.0.0' }
    const partial = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: { ...auth, 'Upload-Length': '10', 'Upload-Concat': 'partial' },
    })
    expect(partial.status).toBe(501)
    const final = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: { ...auth, 'Upload-Concat': 'final;/files/part_a /files/part_b' },
    })
    expect(final.status).toBe(501)
    const created = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: {
        ...auth,
        'Upload-Length': '4',
        'Upload-Metadata': `filename ${Buffer.from('a.jpg').toString('base64')}`,
      },
    })
    expect(created.status).toBe(201)
    const patch = await fetch(new URL(created.headers.get('location')!, server.url), {
      method: 'PATCH',
      headers: {
        ...auth,
        'Upload-Offset': '0',
        'Content-Type': 'application/offset+octet-stream',
        'Upload-Checksum': `sha256 ${Buffer.alloc(32).toString('base64')}`,
      },
      body: new Uint8Array(4),
    })
    expect(patch.status).toBe(400)
    expect(await patch.text()).toContain('Upload-Checksum is not supported with S3')
  })

  it('removes expired uploads from the bucket, each under its lock', async () => {
    const short = await startServer({
      env: s3Env({ UPLOAD_EXPIRY_HOURS: '0.0006' }, 'site-b'),
      compose: { timers: false },
    })
    try {
      const key = await short.key('carol')
      const data = await makeNoiseJpeg(300, 200, 13)
      const upload = await uploadFirstChunk({ url: short.url, key }, data, {
        chunkSize: 5000,
        metadata: { filename: 'late.jpg' },
      })
      const id = uploadIdOf(upload)
      expect((await keysUnder(`site-b/uploads/${id}`)).length).toBeGreaterThan(0)
      expect(await openMultipartUploads(`site-b/uploads/${id}`)).toHaveLength(1)
      expect(await short.app.http.cleanupExpiredUploads()).toBe(0)
      // 2.16 s of expiry; S3 times are to the second (s3rver's are rounded down).
      await new Promise((r) => setTimeout(r, 3300))
      expect(await short.app.http.cleanupExpiredUploads()).toBe(1)
      expect(await keysUnder(`site-b/uploads/${id}`)).toEqual([])
      expect(await openMultipartUploads(`site-b/uploads/${id}`)).toEqual([])
      const status = await short.client(key).uploads.status.query({ id })
      expect(status).toMatchObject({ state: 'failed' })
    } finally {
      await short.close()
    }
  })
})
