import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import {
  makeCaller,
  makeJpeg,
  makeTestDarkroom,
  MemoryServerStore,
  type TestDarkroom,
} from '@darkroom/core/testing'
import { MemoryLocker } from '@tus/server'
import { Upload } from '@tus/utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../logger.js'
import type { DeclaredChecksum } from './checksum.js'
import { DarkroomDataStore } from './darkroom-data-store.js'
import { DurableFileStore } from './durable-file-store.js'
import { sweepExpired } from './expiry-sweep.js'
import { UploadIngest } from './ingest.js'
import { RequestLocks } from './request-locks.js'
import { UploadRecords } from '@darkroom/trpc'

/**
 * The decorator over the folder store, as tus drives it: a request registered with
 * `RequestLocks`, the lock taken through its `lockerFor`, then `write`.
 */

const EXPIRY_MS = 60_000
const caller = makeCaller('alice')

let dir: string
let engine: TestDarkroom
let store: DurableFileStore
let records: UploadRecords
let locks: RequestLocks
let datastore: DarkroomDataStore
let ingest: UploadIngest

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'darkroom-tus-store-'))
  engine = await makeTestDarkroom()
  const { darkroom, clock } = engine
  store = new DurableFileStore({ directory: dir })
  records = new UploadRecords(new MemoryServerStore(), clock)
  locks = new RequestLocks(new MemoryLocker())
  const logger = silentLogger
  ingest = new UploadIngest({ darkroom, records, store, logger })
  datastore = new DarkroomDataStore(store, {
    darkroom,
    records,
    ingest,
    locks,
    expiryMs: EXPIRY_MS,
    logger,
  })
})
afterEach(() => rm(dir, { recursive: true, force: true }))

/** An upload of `size` bytes, created as the files handler creates one. */
async function createUpload(size: number): Promise<string> {
  const id = randomBytes(8).toString('hex')
  await records.create(id, caller, { filename: 'a.jpg', size })
  await datastore.create(new Upload({ id, size, offset: 0, metadata: { filename: 'a.jpg' } }))
  return id
}

/** A request for `id` that holds its lock, as tus takes it. */
async function holdAs(id: string, checksum: DeclaredChecksum | null = null) {
  const request = new Request(`http://localhost/files/${id}`, { method: 'PATCH' })
  const state = locks.begin(request, { caller, checksum })
  const lock = locks.lockerFor(request).newLock(id)
  await lock.lock(new AbortController().signal, () => {})
  return { state, unlock: () => lock.unlock() }
}

const body = (data: Uint8Array) => Readable.from([Buffer.from(data)])

describe('DarkroomDataStore', () => {
  it('refuses a write from no request holding the upload’s lock', async () => {
    const id = await createUpload(10)
    await expect(datastore.write(body(Buffer.alloc(10)), id, 0)).rejects.toThrow(
      /without holding its lock/,
    )
    const { unlock } = await holdAs(id)
    await unlock()
    await expect(datastore.write(body(Buffer.alloc(10)), id, 0)).rejects.toThrow(
      /without holding its lock/,
    )
  })

  it('ingests the upload its write fills, before the lock is released', async () => {
    const data = await makeJpeg({ width: 64, height: 48, seed: 5 })
    const id = await createUpload(data.length)
    const { state, unlock } = await holdAs(id)
    const half = Math.floor(data.length / 2)
    expect(await datastore.write(body(data.subarray(0, half)), id, 0)).toBe(half)
    expect(state.ingested).toBeUndefined()
    expect((await records.get(id))?.state).toBe('receiving')
    expect(await datastore.write(body(data.subarray(half)), id, half)).toBe(data.length)
    // Still locked: the photo and the record are there already.
    expect(state.ingested).toEqual({ uploadId: id, photoId: expect.any(String) })
    expect(await records.get(id)).toMatchObject({
      state: 'ready',
      photoId: state.ingested!.photoId,
      size: data.length,
    })
    await unlock()
  })

  it('fails and removes an upload whose first bytes are refused', async () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(6000, 0x20)])
    const id = await createUpload(pdf.length)
    const { state, unlock } = await holdAs(id)
    await expect(datastore.write(body(pdf), id, 0)).rejects.toMatchObject({ code: 'VALIDATION' })
    await unlock()
    expect(state.ingested).toBeUndefined()
    expect(await records.get(id)).toMatchObject({
      state: 'failed',
      error: expect.stringContaining('application/pdf'),
    })
    await expect(store.getUpload(id)).rejects.toMatchObject({ status_code: 404 })
  })

  it('hands the request’s checksum to the store, which keeps nothing of a mismatch', async () => {
    const data = await makeJpeg({ width: 40, height: 30, seed: 6 })
    const id = await createUpload(data.length)
    const sha1 = (bytes: Uint8Array) => createHash('sha1').update(bytes).digest('base64')
    const wrong = await holdAs(id, { algorithm: 'sha1', digest: sha1(Buffer.from('nope')) })
    await expect(datastore.write(body(data), id, 0)).rejects.toMatchObject({ status_code: 460 })
    await wrong.unlock()
    expect((await store.getUpload(id)).offset).toBe(0)
    const right = await holdAs(id, { algorithm: 'sha1', digest: sha1(data) })
    expect(await datastore.write(body(data), id, 0)).toBe(data.length)
    expect(right.state.ingested?.photoId).toBeTruthy()
    await right.unlock()
  })

  it('expires uploads after its own period, whatever the store', async () => {
    const id = await createUpload(10)
    expect(datastore.getExpiration()).toBe(EXPIRY_MS)
    expect(await datastore.listExpired(Date.now())).toEqual([])
    expect(await datastore.listExpired(Date.now() + EXPIRY_MS + 1000)).toEqual([id])
  })

  it('makes an expired upload a stop left complete into its photo, and fails one left processing without bytes', async () => {
    const data = await makeJpeg({ width: 48, height: 32, seed: 8 })
    const complete = await createUpload(data.length)
    // Every byte stored, the ingest begun, then the process stopped: no request holds it now.
    expect(await store.write(body(data), complete, 0)).toBe(data.length)
    await records.move(complete, 'processing', { size: data.length })
    const gone = await createUpload(10)
    await records.move(gone, 'processing', { size: 10 })
    const deps = {
      darkroom: engine.darkroom,
      records,
      store,
      ingest,
      locks,
      logger: silentLogger,
      path: '/files',
      unfinished: { count: 10, bytes: 1e9 },
    }
    const later = new Date(Date.now() + EXPIRY_MS + 1000)
    expect(await sweepExpired(datastore, later, deps)).toBe(1)
    expect(await records.get(complete)).toMatchObject({
      state: 'ready',
      photoId: expect.any(String),
    })
    expect(await records.get(gone)).toMatchObject({
      state: 'failed',
      error: 'The upload expired before it was processed.',
    })
  })

  it('has the store’s extensions, under tus’ misspelling too', () => {
    expect(datastore.extensions).toContain('concatenation')
    expect(datastore.hasExtension('concatentation')).toBe(true)
    expect(datastore.hasExtension('creation-defer-length')).toBe(false)
  })
})

describe('UploadRecords', () => {
  it('moves receiving → processing → ready, and a final state nowhere', async () => {
    const id = await createUpload(10)
    await records.move(id, 'processing', { size: 10 })
    await records.move(id, 'ready', { photoId: 'p1' })
    await expect(records.move(id, 'failed')).rejects.toThrow(/cannot go from ready to failed/)
    expect(await records.get(id)).toMatchObject({ state: 'ready', photoId: 'p1' })
  })

  it('finds only the caller’s upload', async () => {
    const id = await createUpload(10)
    expect((await records.find(id, caller)).ownerId).toBe('alice')
    await expect(records.find(id, makeCaller('bob'))).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})
