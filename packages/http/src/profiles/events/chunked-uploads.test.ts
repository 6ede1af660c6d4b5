import { mkdir, mkdtemp, readFile, readdir, rm, utimes } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DarkroomError } from '@darkroom/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../logger.js'
import { ChunkedUploadStore, type ChunkedUpload } from './chunked-uploads.js'

/**
 * The chunked upload store on a real folder with a clock the test moves: chunk lengths, atomic
 * and idempotent chunks, assembly in order, what `complete` keeps, expiry and the sweep.
 */

const CHUNK = 64 * 1024
const HOUR = 3_600_000

let directory: string
let now: number
let store: ChunkedUploadStore

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'event-uploads-'))
  now = Date.UTC(2026, 4, 12, 15, 0, 0)
  store = new ChunkedUploadStore({
    directory,
    chunkSizeBytes: CHUNK,
    expiryMs: 24 * HOUR,
    clock: { now: () => new Date(now) },
    logger: silentLogger,
  })
})
afterEach(() => rm(directory, { recursive: true, force: true }))

const bodyOf = (bytes: Uint8Array) => new Response(bytes).body
const bytes = (length: number, fill: number) => new Uint8Array(length).fill(fill)

function create(size: number, ownerId = 'alice') {
  return store.create({
    ownerId,
    eventId: 'event-1',
    filename: 'a.jpg',
    size,
    mimeType: 'image/jpeg',
  })
}

async function put(upload: ChunkedUpload, index: number, data: Uint8Array, declared = true) {
  return store.writeChunk(upload, index, bodyOf(data), {
    declaredLength: declared ? data.byteLength : null,
  })
}

describe('ChunkedUploadStore', () => {
  it('splits the declared size into chunk_size chunks, the last holding the rest', async () => {
    const upload = await create(2 * CHUNK + 10)
    expect(upload).toMatchObject({ chunkSize: CHUNK, chunkCount: 3, expiresAt: now + 24 * HOUR })
    expect(await put(upload, 2, bytes(10, 3))).toBe(10)
    await expect(put(upload, 2, bytes(11, 3))).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
    await expect(put(upload, 0, bytes(10, 3))).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(put(upload, 3, bytes(10, 3))).rejects.toMatchObject({ code: 'VALIDATION' })
  })

  it('measures the body itself when no length is declared, keeping nothing of a wrong one', async () => {
    const upload = await create(CHUNK + 10)
    await expect(put(upload, 1, bytes(11, 1), false)).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    })
    await expect(put(upload, 1, bytes(9, 1), false)).rejects.toMatchObject({ code: 'VALIDATION' })
    expect(await readdir(join(directory, upload.id))).toEqual(['upload.json'])
  })

  it('keeps a chunk only when its check passes, and takes the same chunk twice', async () => {
    const upload = await create(CHUNK + 10)
    const refusing = store.writeChunk(upload, 1, bodyOf(bytes(10, 1)), {
      declaredLength: 10,
      check: () => Promise.reject(DarkroomError.validation([{ property: 'chunk', message: 'no' }])),
    })
    await expect(refusing).rejects.toMatchObject({ code: 'VALIDATION' })
    await put(upload, 1, bytes(10, 1))
    await put(upload, 1, bytes(10, 2))
    expect((await readdir(join(directory, upload.id))).sort()).toEqual(['chunk-1', 'upload.json'])
  })

  it('assembles the chunks in order, hands the file over and removes the upload', async () => {
    const upload = await create(2 * CHUNK + 5)
    await Promise.all([
      put(upload, 2, bytes(5, 3)),
      put(upload, 0, bytes(CHUNK, 1)),
      put(upload, 1, bytes(CHUNK, 2)),
    ])
    const assembled = await store.complete('alice', upload.id, async (path) => readFile(path))
    const expected = Buffer.concat([bytes(CHUNK, 1), bytes(CHUNK, 2), bytes(5, 3)])
    expect(assembled.equals(expected)).toBe(true)
    expect(await readdir(directory)).toEqual([])
  })

  it('refuses to complete with missing chunks, one violation each', async () => {
    const upload = await create(3 * CHUNK)
    await put(upload, 1, bytes(CHUNK, 1))
    const early = store.complete('alice', upload.id, async () => 'never')
    await expect(early).rejects.toMatchObject({
      code: 'CONFLICT',
      violations: [
        expect.objectContaining({ property: 'chunks[0]', reason: 'missing_chunk' }),
        expect.objectContaining({ property: 'chunks[2]', reason: 'missing_chunk' }),
      ],
    })
  })

  it('keeps the upload after a failure that a retry can get past, not after a refusal of its bytes', async () => {
    const upload = await create(10)
    await put(upload, 0, bytes(10, 1))
    const full = new DarkroomError('CAP_EXCEEDED', 'The event is full.')
    await expect(store.complete('alice', upload.id, () => Promise.reject(full))).rejects.toBe(full)
    expect(await readdir(join(directory, upload.id))).toEqual(expect.arrayContaining(['chunk-0']))
    expect((await readdir(join(directory, upload.id))).some((n) => n.startsWith('assembled'))).toBe(
      false,
    )
    const corrupt = DarkroomError.validation([{ property: 'file', message: 'corrupt' }])
    await expect(store.complete('alice', upload.id, () => Promise.reject(corrupt))).rejects.toBe(
      corrupt,
    )
    expect(await readdir(directory)).toEqual([])
  })

  it('refuses a second complete, and chunks, while one runs', async () => {
    const upload = await create(10)
    await put(upload, 0, bytes(10, 1))
    let release!: () => void
    let entered!: () => void
    const ingesting = new Promise<void>((r) => (entered = r))
    const running = store.complete('alice', upload.id, () => {
      entered()
      return new Promise<void>((r) => (release = r))
    })
    await ingesting
    await expect(store.complete('alice', upload.id, async () => undefined)).rejects.toMatchObject({
      code: 'CONFLICT',
    })
    await expect(put(upload, 0, bytes(10, 1))).rejects.toMatchObject({ code: 'CONFLICT' })
    release()
    await running
  })

  it("answers NOT_FOUND for another owner's upload, an unknown id and an expired one", async () => {
    const upload = await create(10)
    await expect(store.get('bob', upload.id)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(store.get('alice', '../etc')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    expect((await store.get('alice', upload.id)).id).toBe(upload.id)
    now += 24 * HOUR
    await expect(store.get('alice', upload.id)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('expired'),
    })
    expect(await readdir(directory)).toEqual([])
  })

  it('sweeps expired uploads and record-less folders when creating, at most every ten minutes', async () => {
    const old = await create(10)
    const orphan = join(directory, '01234567-89ab-4def-8123-456789abcdef')
    await mkdir(orphan)
    await utimes(orphan, new Date(now - 25 * HOUR), new Date(now - 25 * HOUR))
    await mkdir(join(directory, 'not-an-upload'))
    now += 23 * HOUR
    const young = await create(10)
    expect((await readdir(directory)).sort()).toEqual([old.id, young.id, 'not-an-upload'].sort())
    now = young.expiresAt - 60_000
    const last = await create(10)
    expect((await readdir(directory)).sort()).toEqual([young.id, last.id, 'not-an-upload'].sort())
    now += 5 * 60_000
    await create(10)
    expect(await readdir(directory)).toContain(young.id)
    now += 10 * 60_000
    await create(10)
    expect(await readdir(directory)).not.toContain(young.id)
  })
})
