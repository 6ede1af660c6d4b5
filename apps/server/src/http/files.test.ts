import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeJpeg } from '@darkroom/core/testing'
import * as tus from 'tus-js-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  makeNoiseJpeg,
  PDF_BYTES,
  sha256,
  readStoredOriginal,
  startServer,
  type TestServer,
} from '../testing/harness.js'
import { startTusUpload, uploadIdOf, type TusOutcome } from '../testing/tus-upload.js'

/** tus-js-client (and a few raw requests) against the real /files endpoint. */

let server: TestServer
let aliceKey: string
let bobKey: string
let big: Buffer

beforeAll(async () => {
  server = await startServer({ env: { MAX_FILE_MB: '8', UPLOAD_EXPIRY_HOURS: '24' } })
  aliceKey = await server.key('alice')
  bobKey = await server.key('bob')
  big = await makeNoiseJpeg(1400, 1000, 7)
})
afterAll(() => server.close())

/** A tus upload to the test server, as alice unless `key` names another caller. */
function tusUpload(
  data: Buffer,
  options: Partial<tus.UploadOptions> & { key?: string } = {},
): { upload: tus.Upload; done: Promise<TusOutcome> } {
  const { key = aliceKey, ...rest } = options
  return startTusUpload({ url: server.url, key }, data, rest)
}

/** A raw tus PATCH of `bytes` at `offset`, as `key`. */
function rawPatch(url: string, key: string, offset: number, bytes: Uint8Array): Promise<Response> {
  return fetch(url, {
    method: 'PATCH',
    headers: {
      'Tus-Resumable': '1.0.0',
      authorization: `Bearer ${key}`,
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
    },
    body: bytes,
  })
}

async function storedOriginal(photoId: string): Promise<Buffer> {
  return readStoredOriginal(server.dataDir, photoId)
}

describe('tus uploads', () => {
  it('uploads a photo; the last response carries its id and the status says ready', async () => {
    const data = await makeJpeg({ width: 120, height: 80, seed: 101 })
    const { done } = tusUpload(data, { metadata: { filename: 'one.jpg', category: 'ceremony' } })
    const outcome = await done
    expect(outcome.status).toBeLessThan(300)
    expect(outcome.photoId).toMatch(/^[0-9a-f-]{36}$/)
    const alice = server.client(aliceKey)
    const photo = await alice.photos.get.query({ id: outcome.photoId! })
    expect(photo).toMatchObject({
      filename: 'one.jpg',
      category: 'ceremony',
      width: 120,
      height: 80,
    })
    const status = await alice.uploads.status.query({ id: uploadIdOf(outcome.upload) })
    expect(status).toMatchObject({ state: 'ready', photoId: outcome.photoId, error: null })
    // The tus file is gone, and a HEAD still reports the finished upload and its photo.
    await new Promise((r) => setTimeout(r, 50))
    const files = await readdir(join(server.dataDir, 'uploads'))
    expect(files.filter((f) => f.startsWith(uploadIdOf(outcome.upload)))).toEqual([])
    const head = await fetch(outcome.upload.url!, {
      method: 'HEAD',
      headers: { 'Tus-Resumable': '1.0.0', authorization: `Bearer ${aliceKey}` },
    })
    expect(head.status).toBe(200)
    expect(head.headers.get('upload-offset')).toBe(String(data.length))
    expect(head.headers.get('darkroom-photo-id')).toBe(outcome.photoId)
    // Another owner sees nothing.
    const bobs = await fetch(outcome.upload.url!, {
      method: 'HEAD',
      headers: { 'Tus-Resumable': '1.0.0', authorization: `Bearer ${bobKey}` },
    })
    expect(bobs.status).toBe(404)
    expect(
      (
        await server
          .client(bobKey)
          .uploads.status.query({ id: uploadIdOf(outcome.upload) })
          .catch((e) => e)
      ).data?.httpStatus,
    ).toBe(404)
  })

  it('resumes an upload aborted half-way from the server offset; bytes arrive intact', async () => {
    let aborted = false
    let first!: tus.Upload
    const halfway = new Promise<void>((resolve) => {
      first = new tus.Upload(big, {
        endpoint: `${server.url}/files`,
        headers: { authorization: `Bearer ${aliceKey}` },
        chunkSize: 128 * 1024,
        retryDelays: [],
        storeFingerprintForResuming: false,
        metadata: { filename: 'big.jpg' },
        onChunkComplete: (_size, uploaded) => {
          if (!aborted && uploaded >= big.length / 2) {
            aborted = true
            void first.abort().then(resolve)
          }
        },
        onError: () => resolve(),
      })
      first.start()
    })
    await halfway
    expect(first.url).toBeTruthy()
    const head = await fetch(first.url!, {
      method: 'HEAD',
      headers: { 'Tus-Resumable': '1.0.0', authorization: `Bearer ${aliceKey}` },
    })
    const offset = Number(head.headers.get('upload-offset'))
    expect(offset).toBeGreaterThanOrEqual(big.length / 2)
    expect(offset).toBeLessThan(big.length)

    let resumedFrom = -1
    const { done } = tusUpload(big, {
      uploadUrl: first.url!,
      chunkSize: 128 * 1024,
      onProgress: (sent) => {
        if (resumedFrom < 0) resumedFrom = sent
      },
    })
    const outcome = await done
    expect(outcome.photoId).toBeTruthy()
    expect(resumedFrom).toBeGreaterThanOrEqual(offset)
    expect(sha256(await storedOriginal(outcome.photoId!))).toBe(sha256(big))
  })

  it('uploads in parallel through concatenation', async () => {
    const data = await makeNoiseJpeg(700, 500, 9)
    const { done } = tusUpload(data, { parallelUploads: 2, metadata: { filename: 'parallel.jpg' } })
    const outcome = await done
    expect(outcome.status).toBe(201)
    expect(outcome.photoId).toBeTruthy()
    expect(sha256(await storedOriginal(outcome.photoId!))).toBe(sha256(data))
    const status = await server
      .client(aliceKey)
      .uploads.status.query({ id: uploadIdOf(outcome.upload) })
    expect(status).toMatchObject({ state: 'ready', photoId: outcome.photoId, size: data.length })
  })

  it('advertises the configured max file size as Tus-Max-Size on OPTIONS', async () => {
    const options = await fetch(`${server.url}/files`, {
      method: 'OPTIONS',
      headers: { 'Tus-Resumable': '1.0.0' },
    })
    expect(options.status).toBeLessThan(300)
    expect(options.headers.get('tus-max-size')).toBe(String(8 * 1024 * 1024))
    // Advertised, and still refused by Darkroom's own rule with its JSON answer (next test).
    expect(options.headers.get('tus-extension')).toContain('creation')
  })

  it('refuses an oversize upload at creation (413)', async () => {
    const res = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: {
        'Tus-Resumable': '1.0.0',
        'Upload-Length': String(9 * 1024 * 1024),
        authorization: `Bearer ${aliceKey}`,
      },
    })
    expect(res.status).toBe(413)
    expect(res.headers.get('location')).toBeNull()
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
    expect(body.error.message).toMatch(/Allowed maximum size is 8 MB/)
  })

  it('refuses an upload into a full album at creation (400)', async () => {
    const alice = server.client(aliceKey)
    const album = await alice.albums.create.mutate({ title: 'Full', photoCap: 1 })
    const first = await tusUpload(await makeJpeg({ seed: 111 }), {
      metadata: { filename: 'a.jpg', albumId: album.id },
    }).done
    expect(first.photoId).toBeTruthy()
    const second = await tusUpload(await makeJpeg({ seed: 112 }), {
      metadata: { filename: 'b.jpg', albumId: album.id },
    }).done
    expect(second.status).toBe(400)
    expect(second.upload.url).toBeNull()
    expect(JSON.parse(second.body!).error).toMatchObject({
      code: 'CAP_EXCEEDED',
      cap: { name: 'photoCap', limit: 1 },
    })
  })

  it('refuses a PDF at its first PATCH (422), before its bytes are stored', async () => {
    const outcome = await tusUpload(PDF_BYTES, { metadata: { filename: 'doc.pdf' } }).done
    expect(outcome.status).toBe(422)
    expect(outcome.upload.url).toBeTruthy()
    const body = JSON.parse(outcome.body!)
    expect(body.error.violations[0].message).toContain('application/pdf')
    const status = await server
      .client(aliceKey)
      .uploads.status.query({ id: uploadIdOf(outcome.upload) })
    expect(status).toMatchObject({
      state: 'failed',
      error: expect.stringContaining('application/pdf'),
    })
    const head = await fetch(outcome.upload.url!, {
      method: 'HEAD',
      headers: { 'Tus-Resumable': '1.0.0', authorization: `Bearer ${aliceKey}` },
    })
    expect(head.status).toBe(410)
    const files = await readdir(join(server.dataDir, 'uploads'))
    expect(files.filter((f) => f.startsWith(uploadIdOf(outcome.upload)))).toEqual([])
  })

  it('takes a re-sent PATCH idempotently: bytes it has are acknowledged, not refused (409/404)', async () => {
    const data = await makeNoiseJpeg(400, 300, 131)
    const auth = { 'Tus-Resumable': '1.0.0', authorization: `Bearer ${aliceKey}` }
    const created = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: {
        ...auth,
        'Upload-Length': String(data.length),
        'Upload-Metadata': `filename ${Buffer.from('again.jpg').toString('base64')}`,
      },
    })
    expect(created.status).toBe(201)
    const url = new URL(created.headers.get('location')!, server.url).href
    const patch = (offset: number, bytes: Uint8Array) => rawPatch(url, aliceKey, offset, bytes)
    const third = Math.floor(data.length / 3)
    const first = await patch(0, data.subarray(0, third))
    expect(first.status).toBe(204)
    expect(first.headers.get('upload-offset')).toBe(String(third))
    // The same chunk again: acknowledged at the upload's offset, nothing written twice.
    const again = await patch(0, data.subarray(0, third))
    expect(again.status).toBe(204)
    expect(again.headers.get('upload-offset')).toBe(String(third))
    // A chunk that straddles the offset: only its new bytes are written.
    const straddle = await patch(third - 100, data.subarray(third - 100, 2 * third))
    expect(straddle.status).toBe(204)
    expect(straddle.headers.get('upload-offset')).toBe(String(2 * third))
    // A gap is still the protocol's 409.
    const gap = await patch(2 * third + 10, data.subarray(2 * third + 10))
    expect(gap.status).toBe(409)
    const last = await patch(2 * third, data.subarray(2 * third))
    expect(last.status).toBe(204)
    const photoId = last.headers.get('darkroom-photo-id')
    expect(photoId).toBeTruthy()
    // The last PATCH again (its answer lost): the finished upload and its photo, not a 404.
    const lastAgain = await patch(2 * third, data.subarray(2 * third))
    expect(lastAgain.status).toBe(204)
    expect(lastAgain.headers.get('upload-offset')).toBe(String(data.length))
    expect(lastAgain.headers.get('darkroom-photo-id')).toBe(photoId)
    expect(sha256(await storedOriginal(photoId!))).toBe(sha256(data))
    // Someone else re-sending it learns nothing.
    const bobs = await rawPatch(url, bobKey, 2 * third, data.subarray(2 * third))
    expect(bobs.status).toBe(404)
  })

  it('sniffs the type once the first bytes are in, however small the PATCHes before', async () => {
    // A PDF sent a byte, then a mebibyte at a time: the second PATCH completes the head.
    const pdf = Buffer.concat([PDF_BYTES, Buffer.alloc(3 * 1024 * 1024, 0x20)])
    const auth = { 'Tus-Resumable': '1.0.0', authorization: `Bearer ${aliceKey}` }
    const created = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: { ...auth, 'Upload-Length': String(pdf.length) },
    })
    const url = new URL(created.headers.get('location')!, server.url).href
    const patch = (offset: number, bytes: Uint8Array) => rawPatch(url, aliceKey, offset, bytes)
    expect((await patch(0, pdf.subarray(0, 1))).status).toBe(204)
    const second = await patch(1, pdf.subarray(1, 1024 * 1024))
    expect(second.status).toBe(422)
    expect(JSON.parse(await second.text()).error.violations[0].message).toContain('application/pdf')
    const files = await readdir(join(server.dataDir, 'uploads'))
    expect(files.filter((f) => url.endsWith(f))).toEqual([])
  })

  it('answers a failed ingest at the last PATCH; the upload never looks finished', async () => {
    const good = await makeJpeg({ width: 300, height: 200, seed: 121 })
    const truncated = good.subarray(0, Math.floor(good.length * 0.6))
    const outcome = await tusUpload(Buffer.from(truncated), { metadata: { filename: 'cut.jpg' } })
      .done
    expect(outcome.status).toBe(422)
    expect(outcome.photoId).toBeNull()
    const status = await server
      .client(aliceKey)
      .uploads.status.query({ id: uploadIdOf(outcome.upload) })
    expect(status.state).toBe('failed')
    expect(status.error).toBeTruthy()
    const head = await fetch(outcome.upload.url!, {
      method: 'HEAD',
      headers: { 'Tus-Resumable': '1.0.0', authorization: `Bearer ${aliceKey}` },
    })
    expect(head.status).toBe(410)
    expect(head.headers.get('upload-offset')).toBeNull()
  })

  it('verifies Upload-Checksum (sha1) and drops a mismatching chunk', async () => {
    const data = await makeJpeg({ width: 90, height: 60, seed: 131 })
    const auth = { 'Tus-Resumable': '1.0.0', authorization: `Bearer ${aliceKey}` }
    const options = await fetch(`${server.url}/files`, { method: 'OPTIONS' })
    expect(options.headers.get('tus-extension')).toContain('checksum')
    expect(options.headers.get('tus-extension')).toContain('concatenation')
    expect(options.headers.get('tus-checksum-algorithm')).toContain('sha1')
    const created = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: { ...auth, 'Upload-Length': String(data.length) },
    })
    expect(created.status).toBe(201)
    const url = new URL(created.headers.get('location')!, server.url).href
    const patch = (body: Uint8Array, checksum: string) =>
      fetch(url, {
        method: 'PATCH',
        headers: {
          ...auth,
          'Content-Type': 'application/offset+octet-stream',
          'Upload-Offset': '0',
          'Upload-Checksum': checksum,
        },
        body,
      })
    const wrong = await patch(data, `sha1 ${createHash('sha1').update('nope').digest('base64')}`)
    expect(wrong.status).toBe(460)
    const head = await fetch(url, { method: 'HEAD', headers: auth })
    expect(head.headers.get('upload-offset')).toBe('0')
    const unknown = await patch(data, 'crc32 AAAA')
    expect(unknown.status).toBe(400)
    const right = await patch(data, `sha1 ${createHash('sha1').update(data).digest('base64')}`)
    expect(right.status).toBe(204)
    expect(right.headers.get('darkroom-photo-id')).toBeTruthy()
  })

  it('validates Upload-Metadata and never echoes it unsanitised', async () => {
    const auth = { 'Tus-Resumable': '1.0.0', authorization: `Bearer ${aliceKey}` }
    const post = (metadata: string) =>
      fetch(`${server.url}/files`, {
        method: 'POST',
        headers: { ...auth, 'Upload-Length': '100', 'Upload-Metadata': metadata },
      })
    expect((await post('filename !!notbase64')).status).toBe(400)
    expect(
      (await post(`filename ${Buffer.from('\xff\xfe', 'latin1').toString('base64')}`)).status,
    ).toBe(400)
    const huge = `filename ${Buffer.from('x'.repeat(6000)).toString('base64')}`
    expect((await post(huge)).status).toBe(400)
    expect((await post(`pending ${Buffer.from('maybe').toString('base64')}`)).status).toBe(400)

    const evil = '../../etc/\u0000evil\r\nSet-Cookie: x=1.jpg'
    const ok = await post(
      `filename ${Buffer.from(evil).toString('base64')},color ${Buffer.from('red').toString('base64')}`,
    )
    expect(ok.status).toBe(201)
    const url = new URL(ok.headers.get('location')!, server.url).href
    const head = await fetch(url, { method: 'HEAD', headers: auth })
    expect(head.headers.get('set-cookie')).toBeNull()
    const echoed = Object.fromEntries(
      head.headers
        .get('upload-metadata')!
        .split(',')
        .map((pair) => pair.split(' '))
        .map(([k, v]) => [k, Buffer.from(v ?? '', 'base64').toString('utf8')]),
    )
    expect(echoed.filename).toBe('evilSet-Cookie: x=1.jpg')
    expect(echoed.color).toBeUndefined()
    // Termination removes it.
    expect((await fetch(url, { method: 'DELETE', headers: auth })).status).toBe(204)
    expect((await fetch(url, { method: 'HEAD', headers: auth })).status).toBe(404)
  })

  it('needs credentials', async () => {
    const res = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '10' },
    })
    expect(res.status).toBe(401)
  })
})

describe('tus expiry', () => {
  it('removes expired uploads on its own timer and marks them failed', async () => {
    const short = await startServer({ env: { UPLOAD_EXPIRY_HOURS: '0.0001' } })
    try {
      const key = await short.key('carol')
      const auth = { 'Tus-Resumable': '1.0.0', authorization: `Bearer ${key}` }
      const created = await fetch(`${short.url}/files`, {
        method: 'POST',
        headers: { ...auth, 'Upload-Length': '1000' },
      })
      const url = new URL(created.headers.get('location')!, short.url).href
      // No call from here: the server's own timer (every second at this expiry) removes it.
      const head = await fetch(url, { method: 'HEAD', headers: auth })
      expect(head.status).toBe(200)
      const uploads = join(short.dataDir, 'uploads')
      for (let i = 0; i < 50 && (await readdir(uploads)).length > 0; i++) {
        await new Promise((r) => setTimeout(r, 100))
      }
      expect(await readdir(uploads)).toEqual([])
      expect((await fetch(url, { method: 'HEAD', headers: auth })).status).toBe(410)
      const status = await short.client(key).uploads.status.query({ id: url.split('/').pop()! })
      expect(status).toMatchObject({ state: 'failed', error: expect.stringMatching(/expired/) })
    } finally {
      await short.close()
    }
  })
})
