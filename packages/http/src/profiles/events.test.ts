import { randomBytes, randomUUID } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import type { DarkroomEvent } from '@darkroom/core'
import { createSqliteStore } from '@darkroom/storage'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEventsProfile } from './events.js'
import type { Profile } from './profile.js'
import {
  ALICE,
  BOB,
  form,
  makePng,
  startProfileServer,
  type ProfileServer,
  type Sent,
} from './testing/harness.js'

/**
 * Seed 002 (event photo sharing) replayed over raw HTTP: every request its document shows, as
 * curl sends it (`-F` multipart, `-d` JSON labelled application/x-www-form-urlencoded,
 * `--data-binary` chunks), and what the document says comes back; then the cases that keep it
 * honest (another owner's photo or upload is 404, 401 without a token, 403 without the scope,
 * unknown keys refused, the constraints of the upload section).
 *
 * Two servers: `seed` mounts the profile by name at the root, as `PROFILES=events` does; `small`
 * mounts it with its own options under `/ev` (64 KiB chunks, jpg and png only) over an engine
 * with small limits, for the constraints, and once more under `/brief` with a short expiry.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const SMALL_MAX_FILE_BYTES = 300_000

let dataDirs: Record<'seed' | 'small', string>
/** Learns the handler's data folder (chunked uploads live under it, the SQLite file beside). */
const probe = (name: 'seed' | 'small'): Profile => ({
  name: 'probe',
  title: 'data folder probe',
  routes: (deps) => {
    dataDirs = { ...dataDirs, [name]: deps.dataDir }
    return []
  },
  errorResponse: () => new Response(null, { status: 500 }),
})

let seed: ProfileServer
let small: ProfileServer
let alice: Record<string, string>
let bob: Record<string, string>

beforeAll(async () => {
  seed = await startProfileServer({
    profiles: ['events', probe('seed')],
    // Large enough for the document's 1234567890-byte chunked upload to be accepted.
    config: { limits: { maxFileBytes: 2 * 1024 * 1024 * 1024 } },
  })
  small = await startProfileServer({
    profiles: [
      {
        profile: createEventsProfile({
          chunkSizeBytes: 64 * 1024,
          allowedFileTypes: ['jpg', 'png'],
        }),
        basePath: '/ev',
      },
      {
        profile: createEventsProfile({ chunkSizeBytes: 64 * 1024, uploadExpiryMs: 300 }),
        basePath: '/brief',
      },
      probe('small'),
    ],
    config: { limits: { maxFileBytes: SMALL_MAX_FILE_BYTES, maxFilesPerBatch: 3 } },
  })
  alice = seed.bearer(seed.keys.alice)
  bob = seed.bearer(seed.keys.bob)
})
afterAll(async () => {
  await seed?.close()
  await small?.close()
})

/** A JPEG whose EXIF says when it was taken (DateTimeOriginal, with an offset when given). */
async function jpegTakenAt(dateTime: string, offset?: string): Promise<Uint8Array> {
  const [r, g, b] = randomBytes(3)
  return sharp({
    create: { width: 640, height: 480, channels: 3, background: { r: r!, g: g!, b: b! } },
  })
    .withExif({
      IFD0: { ImageDescription: randomUUID() },
      IFD2: { DateTimeOriginal: dateTime, ...(offset ? { OffsetTimeOriginal: offset } : {}) },
    })
    .jpeg()
    .toBuffer()
}

/** A picture of noise: large for its size in pixels (a few chunks of 64 KiB). */
async function noise(width: number, height: number, format: 'jpeg' | 'png'): Promise<Uint8Array> {
  const gaussian = { type: 'gaussian' as const, mean: 128, sigma: 60 }
  return sharp({ create: { width, height, channels: 3, background: '#000', noise: gaussian } })
    .toFormat(format, format === 'jpeg' ? { quality: 90 } : {})
    .toBuffer()
}

function jpeg(filename: string, data: Uint8Array) {
  return { filename, data, type: 'image/jpeg' }
}

/** `curl -F "photos=@..." ...`: the batch upload. */
function uploadForm(
  files: { filename: string; data: Uint8Array; type?: string }[],
  extra: [string, string][] = [],
): FormData {
  return form([...files.map((f): [string, typeof f] => ['photos', f]), ...extra])
}

async function newEvent(server: ProfileServer, owner = ALICE, photoCap?: number): Promise<string> {
  const album = await server.darkroom.albums.create(owner, {
    title: `Wedding ${randomUUID()}`,
    ...(photoCap !== undefined ? { photoCap } : {}),
  })
  return album.id
}

/** Uploads through the profile and returns the ids of the uploaded photos. */
async function uploadPhotos(
  eventId: string,
  files: Uint8Array[],
  category = 'ceremony',
  prefix = 'IMG',
) {
  const sent = await seed.send('POST', `/v1/events/${eventId}/photos`, {
    headers: alice,
    body: uploadForm(
      files.map((data, i) => jpeg(`${prefix}_${i}.jpg`, data)),
      [['category_id', category]],
    ),
  })
  expect(sent.status).toBe(201)
  return (sent.json as { uploaded: { id: string }[] }).uploaded.map((u) => u.id)
}

/** Collects the engine's events of one type while `run` runs. */
async function collect(
  server: ProfileServer,
  type: DarkroomEvent['type'],
  run: () => Promise<unknown>,
) {
  const seen: DarkroomEvent[] = []
  const off = server.darkroom.events.on(type, (event) => void seen.push(event))
  try {
    await run()
  } finally {
    off()
  }
  return seen
}

/** `curl -d '{...}'`: the JSON as it is, labelled as a form. */
function curlData(body: string, headers = alice) {
  return { headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body }
}

function errorOf(sent: Sent) {
  return (
    sent.json as { error: { code: string; message: string; violations?: { property: string }[] } }
  ).error
}

function expectError(sent: Sent, status: number, code: string, properties?: string[]) {
  expect(sent.status).toBe(status)
  expect(sent.json).toEqual({
    error: expect.objectContaining({ code, message: expect.any(String) }),
  })
  if (properties) expect(errorOf(sent).violations?.map((v) => v.property)).toEqual(properties)
}

describe('POST /v1/events/{id}/photos (upload, single batch < 100 MB)', () => {
  it('answers the documented { uploaded, skipped } for the two photos of the example', async () => {
    const eventId = await newEvent(seed)
    const first = await jpegTakenAt('2026:05:12 15:23:11', '+00:00')
    const second = await jpegTakenAt('2026:05:12 15:23:14', '+00:00')
    let sent: Sent | undefined
    const events = await collect(seed, 'photo.uploaded', async () => {
      sent = await seed.send('POST', `/v1/events/${eventId}/photos`, {
        headers: alice,
        body: uploadForm(
          [jpeg('DSC_2031.jpg', first), jpeg('DSC_2032.jpg', second)],
          [['category_id', 'ceremony']],
        ),
      })
    })
    expect(sent!.status).toBe(201)
    expect(sent!.json).toEqual({
      uploaded: [
        {
          id: expect.stringMatching(UUID),
          filename: 'DSC_2031.jpg',
          thumbnail_url: expect.stringMatching(/^\/photos\/.+\/small\.webp$/),
          size: first.byteLength,
          captured_at: '2026-05-12T15:23:11Z',
        },
        {
          id: expect.stringMatching(UUID),
          filename: 'DSC_2032.jpg',
          thumbnail_url: expect.stringMatching(/^\/photos\/.+\/small\.webp$/),
          size: second.byteLength,
          captured_at: '2026-05-12T15:23:14Z',
        },
      ],
      skipped: [],
    })
    const ids = (sent!.json as { uploaded: { id: string }[] }).uploaded.map((u) => u.id)
    expect(events.map((e) => e.subjectId)).toEqual(ids)
    const stored = await seed.darkroom.photos.get(ALICE, { id: ids[0]! })
    expect(stored).toMatchObject({ albumId: eventId, category: 'ceremony' })
  })

  it("keeps the camera's own offset, and invents none when EXIF has none", async () => {
    const eventId = await newEvent(seed)
    const sent = await seed.send('POST', `/v1/events/${eventId}/photos`, {
      headers: alice,
      body: uploadForm([
        jpeg('a.jpg', await jpegTakenAt('2026:05:12 17:23:11', '+02:00')),
        jpeg('b.jpg', await jpegTakenAt('2026:05:12 17:23:12')),
        jpeg('c.jpg', await makePng(40, 30)),
      ]),
    })
    expect(sent.status).toBe(201)
    const captured = (sent.json as { uploaded: { captured_at: string | null }[] }).uploaded
    expect(captured.map((u) => u.captured_at)).toEqual([
      '2026-05-12T17:23:11+02:00',
      '2026-05-12T17:23:12',
      null,
    ])
  })

  it('decides the type from the bytes: general_allowed_file_types (jpg,jpeg,png,gif,webp)', async () => {
    const eventId = await newEvent(seed)
    const avif = await sharp({
      create: { width: 32, height: 32, channels: 3, background: '#a0b0c0' },
    })
      .avif()
      .toBuffer()
    const sent = await seed.send('POST', `/v1/events/${eventId}/photos`, {
      headers: alice,
      body: uploadForm([
        jpeg('really-a-png.jpg', await makePng(40, 30)),
        jpeg('really-an-avif.jpg', avif),
        {
          filename: 'notes.png',
          data: new TextEncoder().encode('not a picture'),
          type: 'image/png',
        },
      ]),
    })
    expect(sent.status).toBe(201)
    expect(sent.json).toEqual({
      uploaded: [expect.objectContaining({ filename: 'really-a-png.jpg' })],
      skipped: [
        {
          filename: 'really-an-avif.jpg',
          reason: 'invalid_type',
          message: 'The file is image/avif; allowed file types: jpg, jpeg, png, gif, webp.',
        },
        {
          filename: 'notes.png',
          reason: 'invalid_type',
          message: 'The file is text/plain; allowed file types: jpg, jpeg, png, gif, webp.',
        },
      ],
    })
  })

  it('honours the profile option: a png-less list refuses a png', async () => {
    const eventId = await newEvent(small)
    const gif = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#102030' } })
      .gif()
      .toBuffer()
    const sent = await small.send('POST', `/ev/v1/events/${eventId}/photos`, {
      headers: small.bearer(small.keys.alice),
      body: uploadForm([jpeg('a.gif', gif), jpeg('b.gif', gif)]),
    })
    expectError(sent, 422, 'VALIDATION', ['photos[0]', 'photos[1]'])
  })

  it('lists a duplicate in skipped, and a batch of duplicates is 200, not an error', async () => {
    const eventId = await newEvent(seed)
    const data = await jpegTakenAt('2026:05:12 15:23:11')
    const [id] = await uploadPhotos(eventId, [data])
    const again = await seed.send('POST', `/v1/events/${eventId}/photos`, {
      headers: alice,
      body: uploadForm([jpeg('again.jpg', data)]),
    })
    expect(again.status).toBe(200)
    expect(again.json).toEqual({
      uploaded: [],
      skipped: [
        {
          filename: 'again.jpg',
          reason: 'duplicate',
          message: expect.any(String),
          existing_id: id,
        },
      ],
    })
  })

  it('max size per file (general_max_file_size_mb): skipped in a batch, 413 alone', async () => {
    const eventId = await newEvent(small)
    const big = await noise(700, 700, 'jpeg')
    expect(big.byteLength).toBeGreaterThan(SMALL_MAX_FILE_BYTES)
    const headers = small.bearer(small.keys.alice)
    const mixed = await small.send('POST', `/ev/v1/events/${eventId}/photos`, {
      headers,
      body: uploadForm([jpeg('big.jpg', big), jpeg('ok.png', await makePng(20, 20))]),
    })
    expect(mixed.status).toBe(201)
    expect((mixed.json as { skipped: unknown[] }).skipped).toEqual([
      {
        filename: 'big.jpg',
        reason: 'too_large',
        message: expect.stringMatching(
          /^The file is too large \(.+ MB\)\. Allowed maximum size is 0\.29 MB\.$/,
        ),
      },
    ])
    const alone = await small.send('POST', `/ev/v1/events/${eventId}/photos`, {
      headers,
      body: uploadForm([jpeg('big.jpg', big)]),
    })
    expectError(alone, 413, 'PAYLOAD_TOO_LARGE', ['photos[0]'])
  })

  it('max files per batch (general_max_files_per_upload): more are refused, naming photos', async () => {
    const eventId = await newEvent(small)
    const files = await Promise.all(
      [1, 2, 3, 4].map(async (i) => jpeg(`${i}.png`, await makePng(10, 10))),
    )
    const sent = await small.send('POST', `/ev/v1/events/${eventId}/photos`, {
      headers: small.bearer(small.keys.alice),
      body: uploadForm(files),
    })
    expectError(sent, 422, 'VALIDATION', ['photos'])
  })

  it('per-event photo_cap: a batch that would exceed it is 400, and a full event refuses before reading', async () => {
    const eventId = await newEvent(seed, ALICE, 2)
    await uploadPhotos(eventId, [await jpegTakenAt('2026:05:12 10:00:00')])
    const over = await seed.send('POST', `/v1/events/${eventId}/photos`, {
      headers: alice,
      body: uploadForm([
        jpeg('1.jpg', await jpegTakenAt('2026:05:12 10:00:01')),
        jpeg('2.jpg', await jpegTakenAt('2026:05:12 10:00:02')),
      ]),
    })
    expectError(over, 400, 'CAP_EXCEEDED')
    expect((over.json as { error: { cap: unknown } }).error.cap).toMatchObject({
      name: 'photoCap',
      limit: 2,
    })
    await uploadPhotos(eventId, [await jpegTakenAt('2026:05:12 10:00:03')])
    const full = await rawPost(seed, `/v1/events/${eventId}/photos`, 50 * 1024 * 1024)
    expect(full.status).toBe(400)
  })

  it('refuses a batch of 100 MB or more from its Content-Length, before reading it', async () => {
    const eventId = await newEvent(seed)
    const sent = await rawPost(seed, `/v1/events/${eventId}/photos`, 100 * 1024 * 1024 + 1)
    expect(sent.status).toBe(413)
    expect(JSON.parse(sent.text)).toEqual({
      error: { code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining('chunked upload') },
    })
  })

  it('refuses unknown fields, a text photos field, unknown query parameters, no files', async () => {
    const eventId = await newEvent(seed)
    const png = jpeg('a.png', await makePng(10, 10))
    const unknown = await seed.send('POST', `/v1/events/${eventId}/photos`, {
      headers: alice,
      body: uploadForm(
        [png],
        [
          ['album', 'x'],
          ['photos', 'text'],
          ['category_id', 'a'],
        ],
      ),
    })
    expectError(unknown, 422, 'VALIDATION', ['album', 'photos'])
    const fileField = await seed.send('POST', `/v1/events/${eventId}/photos`, {
      headers: alice,
      body: form([['photo', png]]),
    })
    expectError(fileField, 422, 'VALIDATION', ['photo'])
    const query = await seed.send('POST', `/v1/events/${eventId}/photos?pending=1`, {
      headers: alice,
      body: uploadForm([png]),
    })
    expectError(query, 422, 'VALIDATION', ['pending'])
    const none = await seed.send('POST', `/v1/events/${eventId}/photos`, {
      headers: alice,
      body: form([['category_id', 'ceremony']]),
    })
    expectError(none, 422, 'VALIDATION', ['photos'])
  })

  it("is 401 without a token, 403 without photos.write, 404 for another owner's event", async () => {
    const eventId = await newEvent(seed)
    const body = () => uploadForm([jpeg('a.png', new Uint8Array(8))])
    expectError(
      await seed.send('POST', `/v1/events/${eventId}/photos`, { body: body() }),
      401,
      'UNAUTHORIZED',
    )
    const readOnly = seed.bearer(seed.keys.aliceReadOnly)
    expectError(
      await seed.send('POST', `/v1/events/${eventId}/photos`, { headers: readOnly, body: body() }),
      403,
      'FORBIDDEN',
    )
    expectError(
      await seed.send('POST', `/v1/events/${eventId}/photos`, { headers: bob, body: body() }),
      404,
      'NOT_FOUND',
    )
  })
})

/**
 * A multipart POST declaring `length` bytes that sends only the start of its body, as a client
 * would before a server refuses it from its headers; the answer comes without the rest.
 */
function rawPost(
  server: ProfileServer,
  path: string,
  length: number,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${server.origin}${path}`, {
      method: 'POST',
      headers: {
        ...server.bearer(server.keys.alice),
        'content-type': 'multipart/form-data; boundary=xyz',
        'content-length': String(length),
      },
    })
    request.on('response', (response) => {
      const chunks: Buffer[] = []
      response.on('data', (c: Buffer) => chunks.push(c))
      response.on('end', () => {
        request.destroy()
        resolve({ status: response.statusCode!, text: Buffer.concat(chunks).toString('utf8') })
      })
    })
    request.on('error', reject)
    request.write(
      '--xyz\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\n\r\n',
    )
  })
}

describe('chunked upload: POST /v1/events/{id}/uploads, PUT /v1/uploads/{id}/chunks/{i}, POST /v1/uploads/{id}/complete', () => {
  const ev = '/ev'
  let headers: Record<string, string>
  beforeAll(() => {
    headers = small.bearer(small.keys.alice)
  })

  async function start(eventId: string, size: number, filename = 'big.jpg') {
    const sent = await small.send(
      'POST',
      `${ev}/v1/events/${eventId}/uploads`,
      curlData(JSON.stringify({ filename, size, mime_type: 'image/jpeg' }), headers),
    )
    expect(sent.status).toBe(201)
    return (sent.json as { upload_id: string; chunk_size: number }).upload_id
  }

  /** `curl -X PUT ... --data-binary @chunk-$i.bin` */
  function putChunk(uploadId: string, index: number, data: Uint8Array, as = headers, base = ev) {
    return small.send('PUT', `${base}/v1/uploads/${uploadId}/chunks/${index}`, {
      headers: { ...as, 'content-type': 'application/x-www-form-urlencoded' },
      body: data,
    })
  }

  function chunksOf(data: Uint8Array, size = 64 * 1024): Uint8Array[] {
    const out: Uint8Array[] = []
    for (let at = 0; at < data.byteLength; at += size) out.push(data.subarray(at, at + size))
    return out
  }

  it('replays the document: initialise answers { upload_id, chunk_size }', async () => {
    const eventId = await newEvent(seed)
    const sent = await seed.send(
      'POST',
      `/v1/events/${eventId}/uploads`,
      curlData('{ "filename": "video.mp4", "size": 1234567890, "mime_type": "video/mp4" }'),
    )
    expect(sent.status).toBe(201)
    expect(sent.json).toEqual({
      upload_id: expect.stringMatching(UUID),
      chunk_size: 8 * 1024 * 1024,
    })
  })

  it('takes chunks in parallel, in any order, a chunk twice, and completes into the event', async () => {
    const eventId = await newEvent(small)
    const data = await noise(480, 480, 'jpeg')
    const chunks = chunksOf(data)
    expect(chunks.length).toBeGreaterThan(2)
    const uploadId = await start(eventId, data.byteLength, 'DSC_9000.jpg')
    const puts = await Promise.all(chunks.map((c, i) => putChunk(uploadId, i, c)).reverse())
    expect(puts.map((p) => p.status)).toEqual(chunks.map(() => 200))
    const again = await putChunk(uploadId, 1, chunks[1]!)
    expect(again.status).toBe(200)
    expect(again.json).toEqual({ upload_id: uploadId, index: 1, size: 64 * 1024 })

    let done: Sent | undefined
    const events = await collect(small, 'photo.uploaded', async () => {
      done = await small.send('POST', `${ev}/v1/uploads/${uploadId}/complete`, { headers })
    })
    expect(done!.status).toBe(201)
    expect(done!.json).toEqual({
      uploaded: [
        {
          id: expect.stringMatching(UUID),
          filename: 'DSC_9000.jpg',
          thumbnail_url: expect.stringMatching(/^\/photos\/.+\/small\.webp$/),
          size: data.byteLength,
          captured_at: null,
        },
      ],
      skipped: [],
    })
    const id = (done!.json as { uploaded: { id: string }[] }).uploaded[0]!.id
    expect(events.map((e) => e.subjectId)).toEqual([id])
    const photo = await small.darkroom.photos.get(ALICE, { id })
    expect(photo).toMatchObject({
      albumId: eventId,
      size: data.byteLength,
      width: 480,
      height: 480,
    })
    // The upload is gone with its chunks and the assembled file.
    expect(await readdir(join(dataDirs.small, 'event-uploads'))).not.toContain(uploadId)
    const after = await small.send('POST', `${ev}/v1/uploads/${uploadId}/complete`, { headers })
    expectError(after, 404, 'NOT_FOUND')
  })

  it('completing with chunks missing is 409 listing them; they can be sent later', async () => {
    const eventId = await newEvent(small)
    const data = await noise(300, 300, 'jpeg')
    const chunks = chunksOf(data)
    const uploadId = await start(eventId, data.byteLength)
    expect((await putChunk(uploadId, 1, chunks[1]!)).status).toBe(200)
    const early = await small.send('POST', `${ev}/v1/uploads/${uploadId}/complete`, { headers })
    const missing = chunks.map((_, i) => i).filter((i) => i !== 1)
    expectError(
      early,
      409,
      'CONFLICT',
      missing.map((i) => `chunks[${i}]`),
    )
    expect(errorOf(early).message).toContain(`missing chunks ${missing.join(', ')}`)
    for (const i of missing) expect((await putChunk(uploadId, i, chunks[i]!)).status).toBe(200)
    const done = await small.send('POST', `${ev}/v1/uploads/${uploadId}/complete`, { headers })
    expect(done.status).toBe(201)
  })

  it('checks every chunk against chunk_size and the declared size, and takes no more', async () => {
    const eventId = await newEvent(small)
    const size = 64 * 1024 + 100
    const uploadId = await start(eventId, size)
    const short = await putChunk(uploadId, 0, new Uint8Array(1000))
    expectError(short, 422, 'VALIDATION', ['chunk'])
    const long = await putChunk(uploadId, 1, new Uint8Array(101))
    expectError(long, 413, 'PAYLOAD_TOO_LARGE')
    const past = await putChunk(uploadId, 2, new Uint8Array(1))
    expectError(past, 422, 'VALIDATION', ['chunk'])
    expect(errorOf(past).message).toContain('chunks 0 to 1')
    const notIndex = await putChunk(uploadId, -1 as number, new Uint8Array(1))
    expectError(notIndex, 422, 'VALIDATION', ['chunk'])
  })

  it('refuses a file the event does not take at its first chunk, from its bytes', async () => {
    const eventId = await newEvent(small)
    const text = new TextEncoder().encode('x'.repeat(5000))
    const uploadId = await start(eventId, text.byteLength, 'clip.jpg')
    const sent = await putChunk(uploadId, 0, text)
    expectError(sent, 422, 'VALIDATION', ['chunk'])
    expect(errorOf(sent).message).toContain('text/plain')
  })

  it('a file refused for its bytes at complete is 422 naming file, and the upload is gone', async () => {
    const eventId = await newEvent(small)
    // A PNG cut short: its first bytes say PNG, only decoding the whole file finds it broken.
    const broken = (await noise(200, 200, 'png')).subarray(0, 70 * 1024)
    const uploadId = await start(eventId, broken.byteLength)
    for (const [i, chunk] of chunksOf(broken).entries()) {
      expect((await putChunk(uploadId, i, chunk)).status).toBe(200)
    }
    const done = await small.send('POST', `${ev}/v1/uploads/${uploadId}/complete`, { headers })
    expectError(done, 422, 'VALIDATION', ['file'])
    const again = await small.send('POST', `${ev}/v1/uploads/${uploadId}/complete`, { headers })
    expectError(again, 404, 'NOT_FOUND')
  })

  it("an upload belongs to its creator: another owner's upload_id is 404", async () => {
    const eventId = await newEvent(small)
    const uploadId = await start(eventId, 10)
    const bobs = small.bearer(small.keys.bob)
    expectError(await putChunk(uploadId, 0, new Uint8Array(10), bobs), 404, 'NOT_FOUND')
    expectError(
      await small.send('POST', `${ev}/v1/uploads/${uploadId}/complete`, { headers: bobs }),
      404,
      'NOT_FOUND',
    )
    const traversal = await putChunk(encodeURIComponent('../../etc'), 0, new Uint8Array(1))
    expectError(traversal, 404, 'NOT_FOUND')
    expect(errorOf(traversal).message).toBe('Upload "../../etc" was not found.')
  })

  it('refuses a size over the limit (naming size), unknown keys, and events that are not yours', async () => {
    const eventId = await newEvent(small)
    const tooBig = await small.send(
      'POST',
      `${ev}/v1/events/${eventId}/uploads`,
      curlData(
        JSON.stringify({
          filename: 'a.jpg',
          size: SMALL_MAX_FILE_BYTES + 1,
          mime_type: 'image/jpeg',
        }),
        headers,
      ),
    )
    expectError(tooBig, 413, 'PAYLOAD_TOO_LARGE', ['size'])
    const unknown = await small.send(
      'POST',
      `${ev}/v1/events/${eventId}/uploads`,
      curlData(
        JSON.stringify({ filename: 'a.jpg', size: 10, mime_type: 'image/jpeg', category_id: 'x' }),
        headers,
      ),
    )
    expectError(unknown, 422, 'VALIDATION', ['category_id'])
    const missing = await small.send(
      'POST',
      `${ev}/v1/events/${eventId}/uploads`,
      curlData('{}', headers),
    )
    expectError(missing, 422, 'VALIDATION', ['filename', 'size', 'mime_type'])
    const foreign = await newEvent(small, BOB)
    const notYours = await small.send(
      'POST',
      `${ev}/v1/events/${foreign}/uploads`,
      curlData(JSON.stringify({ filename: 'a.jpg', size: 10, mime_type: 'image/jpeg' }), headers),
    )
    expectError(notYours, 404, 'NOT_FOUND')
    const anonymous = await small.send('POST', `${ev}/v1/events/${eventId}/uploads`, {
      body: '{ "filename": "a.jpg", "size": 10, "mime_type": "image/jpeg" }',
    })
    expectError(anonymous, 401, 'UNAUTHORIZED')
  })

  it('an unfinished upload expires (here after 300 ms) and is then 404', async () => {
    const eventId = await newEvent(small)
    const png = await makePng(10, 10)
    const sent = await small.send(
      'POST',
      `/brief/v1/events/${eventId}/uploads`,
      curlData(
        JSON.stringify({ filename: 'a.png', size: png.byteLength, mime_type: 'image/png' }),
        headers,
      ),
    )
    const uploadId = (sent.json as { upload_id: string }).upload_id
    expect(await readdir(join(dataDirs.small, 'event-uploads'))).toContain(uploadId)
    await new Promise((resolve) => setTimeout(resolve, 350))
    const late = await putChunk(uploadId, 0, png, headers, '/brief')
    expectError(late, 404, 'NOT_FOUND')
    expect(errorOf(late).message).toContain('expired')
    expect(await readdir(join(dataDirs.small, 'event-uploads'))).not.toContain(uploadId)
  })
})

describe('GET /v1/events/{id}/photos (list)', () => {
  let eventId: string
  let ids: string[]
  beforeAll(async () => {
    eventId = await newEvent(seed)
    // One batch each, so that their upload times are in this order.
    ids = [
      ...(await uploadPhotos(eventId, [await jpegTakenAt('2026:05:12 15:00:02')], 'ceremony', 'B')),
      ...(await uploadPhotos(eventId, [await jpegTakenAt('2026:05:12 15:00:01')], 'ceremony', 'C')),
      ...(await uploadPhotos(eventId, [await jpegTakenAt('2026:05:12 22:00:00')], 'party', 'A')),
    ]
    await seed.darkroom.photos.update(ALICE, { id: ids[2]!, hidden: true })
    await seed.darkroom.photos.react(ALICE, { id: ids[1]!, rating: 4 })
    await seed.darkroom.photos.react(ALICE, { id: ids[0]!, rating: 2 })
  })

  const list = async (query: string, headers = alice) =>
    seed.send('GET', `/v1/events/${eventId}/photos${query}`, { headers })
  const idsOf = (sent: Sent) => (sent.json as { photos: { id: string }[] }).photos.map((p) => p.id)

  it('replays the document: ?limit=50&offset=0, newest upload first', async () => {
    const sent = await list('?limit=50&offset=0')
    expect(sent.status).toBe(200)
    expect(sent.json).toEqual({
      photos: expect.any(Array),
      total: 3,
      limit: 50,
      offset: 0,
    })
    expect(idsOf(sent)).toEqual([...ids].reverse())
    expect((sent.json as { photos: unknown[] }).photos[0]).toEqual(
      expect.objectContaining({
        id: ids[2],
        event_id: eventId,
        category_id: 'party',
        is_hidden: true,
      }),
    )
  })

  it('pages with limit and offset', async () => {
    const page = await list('?limit=2&offset=2')
    expect(page.json).toMatchObject({ total: 3, limit: 2, offset: 2 })
    expect(idsOf(page)).toEqual([ids[0]])
  })

  it('filters by category_id and is_hidden', async () => {
    expect(idsOf(await list('?category_id=party'))).toEqual([ids[2]])
    expect(idsOf(await list('?is_hidden=true'))).toEqual([ids[2]])
    expect(idsOf(await list('?is_hidden=false&sort=upload_date_asc'))).toEqual([ids[0], ids[1]])
    expect(idsOf(await list('?category_id=none'))).toEqual([])
  })

  it('sorts by every documented key, both ways', async () => {
    expect(idsOf(await list('?sort=upload_date_asc'))).toEqual(ids)
    expect(idsOf(await list('?sort=upload_date_desc'))).toEqual([...ids].reverse())
    expect(idsOf(await list('?sort=capture_date_asc'))).toEqual([ids[1], ids[0], ids[2]])
    expect(idsOf(await list('?sort=capture_date_desc'))).toEqual([ids[2], ids[0], ids[1]])
    expect(idsOf(await list('?sort=filename_asc'))).toEqual([ids[2], ids[0], ids[1]])
    expect(idsOf(await list('?sort=filename_desc'))).toEqual([ids[1], ids[0], ids[2]])
    const sizes = async (sort: string) =>
      ((await list(`?sort=${sort}`)).json as { photos: { size: number }[] }).photos.map(
        (p) => p.size,
      )
    const asc = await sizes('size_asc')
    expect(asc).toEqual([...asc].sort((a, b) => a - b))
    expect(await sizes('size_desc')).toEqual([...asc].reverse())
    // Unrated counts as 0.
    expect(idsOf(await list('?sort=rating_desc'))).toEqual([ids[1], ids[0], ids[2]])
    expect(idsOf(await list('?sort=rating_asc'))).toEqual([ids[2], ids[0], ids[1]])
  })

  it('refuses limit over 200, a sort it does not know, unknown and repeated parameters', async () => {
    expectError(await list('?limit=201'), 422, 'VALIDATION', ['limit'])
    expectError(await list('?limit=0'), 422, 'VALIDATION', ['limit'])
    expectError(await list('?offset=-1'), 422, 'VALIDATION', ['offset'])
    expectError(await list('?is_hidden=yes'), 422, 'VALIDATION', ['is_hidden'])
    expectError(await list('?sort=views_desc'), 422, 'VALIDATION', ['sort'])
    expectError(await list('?page=2&search=x'), 422, 'VALIDATION', ['page', 'search'])
    expectError(await list('?limit=1&limit=2'), 422, 'VALIDATION', ['limit'])
    expect((await list('?limit=200')).status).toBe(200)
  })

  it("is 401 without a token, 403 without photos.read, 404 for another owner's event", async () => {
    expectError(await list('', {}), 401, 'UNAUTHORIZED')
    expectError(await list('', seed.bearer(seed.keys.aliceWriteOnly)), 403, 'FORBIDDEN')
    expectError(await list('', bob), 404, 'NOT_FOUND')
  })
})

/** The store under the `seed` server, opened a second time: counters and legacy rows. */
function seedStore() {
  return createSqliteStore({ filename: join(dataDirs.seed, 'darkroom.db') })
}

describe('GET /v1/photos/{id} (single photo metadata)', () => {
  it('answers full metadata: width/height, EXIF capture date, feedback aggregates, downloads', async () => {
    const eventId = await newEvent(seed)
    const [id] = await uploadPhotos(eventId, [await jpegTakenAt('2026:05:12 15:23:11', '+00:00')])
    await seed.darkroom.photos.react(ALICE, { id: id!, like: true, rating: 4, comment: 'Lovely' })
    await seed.darkroom.photos.react(ALICE, { id: id!, comment: 'Again' })
    const store = seedStore()
    await store.incrementPhotoCounters(id!, { downloads: 2 })
    await store.close()
    const sent = await seed.send('GET', `/v1/photos/${id}`, { headers: alice })
    expect(sent.status).toBe(200)
    expect(sent.json).toEqual({
      id,
      event_id: eventId,
      category_id: 'ceremony',
      filename: 'IMG_0.jpg',
      mime_type: 'image/jpeg',
      kind: 'image',
      size: expect.any(Number),
      width: 640,
      height: 480,
      captured_at: '2026-05-12T15:23:11Z',
      is_hidden: false,
      thumbnail_url: `/photos/${id}/small.webp`,
      url: `/photos/${id}/original.jpg`,
      likes: 1,
      average_rating: 4,
      rating_count: 1,
      comment_count: 2,
      download_count: 2,
      view_count: 0,
      uploaded_at: expect.any(String),
      updated_at: expect.any(String),
    })
  })

  it("is 404 for another owner's photo, a missing one and the document's integer ids", async () => {
    const [id] = await uploadPhotos(await newEvent(seed), [
      await jpegTakenAt('2026:05:12 15:23:11'),
    ])
    await seed.darkroom.photos.update(ALICE, { id: id!, isPublic: true })
    expectError(await seed.send('GET', `/v1/photos/${id}`, { headers: bob }), 404, 'NOT_FOUND')
    expectError(
      await seed.send('GET', `/v1/photos/${randomUUID()}`, { headers: alice }),
      404,
      'NOT_FOUND',
    )
    expectError(await seed.send('GET', '/v1/photos/1234', { headers: alice }), 404, 'NOT_FOUND')
    expectError(await seed.send('GET', `/v1/photos/${id}`), 401, 'UNAUTHORIZED')
    expectError(
      await seed.send('GET', `/v1/photos/${id}?fields=all`, { headers: alice }),
      422,
      'VALIDATION',
      ['fields'],
    )
  })
})

describe('PATCH /v1/photos/{id} (hide / unhide)', () => {
  it("replays the document's curl -d '{ \"is_hidden\": true }', and unhides", async () => {
    const eventId = await newEvent(seed)
    const [id] = await uploadPhotos(eventId, [await jpegTakenAt('2026:05:12 15:23:11')])
    const hidden = await seed.send('PATCH', `/v1/photos/${id}`, curlData('{ "is_hidden": true }'))
    expect(hidden.status).toBe(200)
    expect(hidden.json).toMatchObject({ id, is_hidden: true })
    const listed = await seed.send('GET', `/v1/events/${eventId}/photos?is_hidden=true`, {
      headers: alice,
    })
    expect((listed.json as { photos: { id: string }[] }).photos.map((p) => p.id)).toEqual([id])
    const writeOnly = seed.bearer(seed.keys.aliceWriteOnly)
    const shown = await seed.send(
      'PATCH',
      `/v1/photos/${id}`,
      curlData('{ "is_hidden": false }', writeOnly),
    )
    expect(shown.status).toBe(200)
    // A write-only key is told the ids only, no photo data (docs/security.md, Write-only keys).
    expect(shown.json).toEqual({ id, event_id: eventId })
    const read = await seed.send('GET', `/v1/photos/${id}`, { headers: alice })
    expect(read.json).toMatchObject({ id, is_hidden: false })
  })

  it("refuses unknown keys and a non-boolean; 404 for another owner's photo; 403 read-only", async () => {
    const [id] = await uploadPhotos(await newEvent(seed), [
      await jpegTakenAt('2026:05:12 15:23:11'),
    ])
    const path = `/v1/photos/${id}`
    expectError(
      await seed.send('PATCH', path, curlData('{ "is_hidden": true, "title": "x" }')),
      422,
      'VALIDATION',
      ['title'],
    )
    expectError(
      await seed.send('PATCH', path, curlData('{ "is_hidden": "yes" }')),
      422,
      'VALIDATION',
      ['is_hidden'],
    )
    expectError(await seed.send('PATCH', path, curlData('{}')), 422, 'VALIDATION', ['is_hidden'])
    expectError(
      await seed.send('PATCH', path, curlData('{ "is_hidden": true }', bob)),
      404,
      'NOT_FOUND',
    )
    const readOnly = seed.bearer(seed.keys.aliceReadOnly)
    expectError(
      await seed.send('PATCH', path, curlData('{ "is_hidden": true }', readOnly)),
      403,
      'FORBIDDEN',
    )
    expect((await seed.darkroom.photos.get(ALICE, { id: id! })).hidden).toBe(false)
  })
})

describe('DELETE /v1/photos/{id} (hard delete)', () => {
  it('removes the photo file, its variants and the row, and fires photo.deleted', async () => {
    const [id] = await uploadPhotos(await newEvent(seed), [
      await jpegTakenAt('2026:05:12 15:23:11'),
    ])
    const thumbnail = `/photos/${id}/small.webp`
    expect((await seed.send('GET', thumbnail, { headers: alice })).status).toBe(200)
    let sent: Sent | undefined
    const events = await collect(seed, 'photo.deleted', async () => {
      sent = await seed.send('DELETE', `/v1/photos/${id}`, { headers: alice })
    })
    expect(sent!.status).toBe(204)
    expect(sent!.text).toBe('')
    expect(events).toEqual([
      expect.objectContaining({ subjectId: id, data: expect.objectContaining({ hard: true }) }),
    ])
    await expect(seed.darkroom.photos.get(ALICE, { id: id! })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
    expect((await seed.send('GET', thumbnail, { headers: alice })).status).toBe(404)
    expect((await seed.send('GET', `/photos/${id}/original.jpg`, { headers: alice })).status).toBe(
      404,
    )
  })

  it("is 404 for another owner's photo (which stays), 403 without photos.write, 405 for PUT", async () => {
    const [id] = await uploadPhotos(await newEvent(seed), [
      await jpegTakenAt('2026:05:12 15:23:11'),
    ])
    expectError(await seed.send('DELETE', `/v1/photos/${id}`, { headers: bob }), 404, 'NOT_FOUND')
    const readOnly = seed.bearer(seed.keys.aliceReadOnly)
    expectError(
      await seed.send('DELETE', `/v1/photos/${id}`, { headers: readOnly }),
      403,
      'FORBIDDEN',
    )
    expect((await seed.darkroom.photos.get(ALICE, { id: id! })).id).toBe(id)
    const put = await seed.send('PUT', `/v1/photos/${id}`, { headers: alice })
    expectError(put, 405, 'METHOD_NOT_ALLOWED')
    expect(put.headers.get('allow')).toBe('GET, HEAD, PATCH, DELETE')
  })
})

describe('POST /v1/photos/bulk-delete', () => {
  it('answers { deleted: 3, failed: 0 } and fires one photo.deleted per photo', async () => {
    const ids = await uploadPhotos(await newEvent(seed), [
      await jpegTakenAt('2026:05:12 15:23:11'),
      await jpegTakenAt('2026:05:12 15:23:12'),
      await jpegTakenAt('2026:05:12 15:23:13'),
    ])
    let sent: Sent | undefined
    const events = await collect(seed, 'photo.deleted', async () => {
      sent = await seed.send(
        'POST',
        '/v1/photos/bulk-delete',
        curlData(JSON.stringify({ photo_ids: ids })),
      )
    })
    expect(sent!.status).toBe(200)
    expect(sent!.json).toEqual({ deleted: 3, failed: 0 })
    expect(events.map((e) => e.subjectId).sort()).toEqual([...ids].sort())
    expect(events.every((e) => e.data['hard'] === true)).toBe(true)
  })

  it("replays the document's integer ids: none is a Darkroom id, so all three fail", async () => {
    const sent = await seed.send(
      'POST',
      '/v1/photos/bulk-delete',
      curlData('{ "photo_ids": [1234, 1235, 1236] }'),
    )
    expect(sent.status).toBe(200)
    expect(sent.json).toEqual({ deleted: 0, failed: 3 })
  })

  it("counts another owner's photos as failed and leaves them; refuses unknown keys and no ids", async () => {
    const [mine] = await uploadPhotos(await newEvent(seed), [
      await jpegTakenAt('2026:05:12 15:23:11'),
    ])
    const sent = await seed.send(
      'POST',
      '/v1/photos/bulk-delete',
      curlData(JSON.stringify({ photo_ids: [mine] }), bob),
    )
    expect(sent.json).toEqual({ deleted: 0, failed: 1 })
    expect((await seed.darkroom.photos.get(ALICE, { id: mine! })).id).toBe(mine)
    const unknown = await seed.send(
      'POST',
      '/v1/photos/bulk-delete',
      curlData('{ "photo_ids": ["a"], "hard": false }'),
    )
    expectError(unknown, 422, 'VALIDATION', ['hard'])
    expectError(
      await seed.send('POST', '/v1/photos/bulk-delete', curlData('{ "photo_ids": [] }')),
      422,
      'VALIDATION',
      ['photo_ids'],
    )
    expectError(
      await seed.send('POST', '/v1/photos/bulk-delete', curlData('{ "photo_ids": [] }', {})),
      401,
      'UNAUTHORIZED',
    )
  })
})

describe('POST /v1/photos/repair-dimensions', () => {
  it('re-extracts width/height for rows where they are null: { scanned, repaired, failed }', async () => {
    const ids = await uploadPhotos(await newEvent(seed), [
      await jpegTakenAt('2026:05:12 15:23:11'),
      await jpegTakenAt('2026:05:12 15:23:12'),
    ])
    const clean = await seed.send('POST', '/v1/photos/repair-dimensions', { headers: alice })
    expect(clean.status).toBe(200)
    expect(clean.json).toEqual({ scanned: 0, repaired: 0, failed: 0 })
    const store = seedStore()
    for (const id of ids) await store.updatePhoto(id, { width: null, height: null })
    await store.close()
    const sent = await seed.send('POST', '/v1/photos/repair-dimensions', { headers: alice })
    expect(sent.json).toEqual({ scanned: 2, repaired: 2, failed: 0 })
    const photo = await seed.send('GET', `/v1/photos/${ids[0]}`, { headers: alice })
    expect(photo.json).toMatchObject({ width: 640, height: 480 })
  })

  it('needs photos.write and refuses a body with keys', async () => {
    const readOnly = seed.bearer(seed.keys.aliceReadOnly)
    expectError(
      await seed.send('POST', '/v1/photos/repair-dimensions', { headers: readOnly }),
      403,
      'FORBIDDEN',
    )
    expectError(await seed.send('POST', '/v1/photos/repair-dimensions'), 401, 'UNAUTHORIZED')
    const body = await seed.send(
      'POST',
      '/v1/photos/repair-dimensions',
      curlData('{ "all": true }'),
    )
    expectError(body, 422, 'VALIDATION', ['all'])
  })
})
