import { appendFile } from 'node:fs/promises'
import { join } from 'node:path'
import { systemClock } from '@darkroom/core'
import { makeJpeg } from '@darkroom/core/testing'
import { UploadRecords } from '@darkroom/trpc'
import { afterEach, describe, expect, it } from 'vitest'
import { sha256, readStoredOriginal, startServer, type TestServer } from '../testing/harness.js'

/**
 * A stop (a crash, a kill, a deploy) between the last byte of a tus upload and its ingest, then
 * a restart. The upload is complete on disk and its record says `processing`, as a process
 * killed mid-ingest leaves it. Restarted, the server ingests it as the owner who made it: a HEAD
 * by that owner's read-only key must neither fail it for want of `photos.write`, nor lose the
 * bytes, nor take the process down.
 */

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

/** An upload of `data` whose last byte reached the disk but whose ingest never ran. */
async function interruptedUpload(env: Record<string, string> = {}) {
  const first = await startServer({ env })
  const writer = await first.key('alice')
  const reader = await first.key('alice', ['photos.read'])
  const data = await makeJpeg({ width: 640, height: 480, seed: 77 })
  const tus = { 'Tus-Resumable': '1.0.0', authorization: `Bearer ${writer}` }
  const created = await fetch(`${first.url}/files`, {
    method: 'POST',
    headers: {
      ...tus,
      'Upload-Length': String(data.length),
      'Upload-Metadata': `filename ${Buffer.from('kept.jpg').toString('base64')}`,
    },
  })
  const url = new URL(created.headers.get('location')!, first.url)
  const id = url.pathname.split('/').pop()!
  const patched = await fetch(url, {
    method: 'PATCH',
    headers: {
      ...tus,
      'Upload-Offset': '0',
      'Content-Type': 'application/offset+octet-stream',
    },
    body: data.subarray(0, data.length - 1),
  })
  expect(patched.status).toBe(204)
  // The last byte was stored and the ingest had begun when the process stopped.
  await new UploadRecords(first.app.serverStore, systemClock).move(id, 'processing', {
    size: data.length,
  })
  await first.app.close(1_000)
  await appendFile(join(first.dataDir, 'uploads', id), data.subarray(data.length - 1))
  return { dataDir: first.dataDir, writer, reader, data, id, path: url.pathname }
}

describe('an upload a stop left complete but not ingested', () => {
  it("becomes its owner's photo at restart; a read-only key's HEAD then finds it ready", async () => {
    const { dataDir, reader, writer, data, id, path } = await interruptedUpload()
    server = await startServer({ dataDir })
    expect(await server.app.recovered).toBe(1)
    const head = await fetch(`${server.url}${path}`, {
      method: 'HEAD',
      headers: { 'Tus-Resumable': '1.0.0', authorization: `Bearer ${reader}` },
    })
    expect(head.status).toBe(200)
    const photoId = head.headers.get('darkroom-photo-id')
    expect(photoId).toBeTruthy()
    expect(sha256(await readStoredOriginal(dataDir, photoId!))).toBe(sha256(data))
    const status = await server.client(writer).uploads.status.query({ id })
    expect(status).toMatchObject({ state: 'ready', photoId })
    // The process is alive and serving.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
  })
})
