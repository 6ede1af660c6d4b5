import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Caller } from '@darkroom/core'
import { makeJpeg, makePng } from '@darkroom/core/testing'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PDF_BYTES, startServer, type TestServer } from '../testing/harness.js'
import {
  gifWithFrames,
  jpegBomb,
  jpegHeaderThenHtml,
  pngBomb,
  pngWithExif,
  svgWithScript,
  tiffBlock,
} from '../testing/hostile-files.js'

/**
 * Hostile input, end to end: each case goes through the real server, by tRPC `photos.upload`
 * (multipart) and by tus (raw requests), and afterwards the server must have answered a clear
 * 4xx naming the problem, stored nothing (no row for the owner, no blob on disk, no upload file
 * left behind), leaked nothing (no stack, SQL or path in the body) and still be healthy. Files
 * that are valid images with hostile metadata (absurd EXIF, hostile names, a JPEG with HTML
 * after its end) are stored, with the hostile part dropped; those cases assert what was kept.
 */

let server: TestServer
let aliceKey: string
let carolKey: string
const alice: Caller = { ownerId: 'alice', scopes: ['photos.read'] }

beforeAll(async () => {
  server = await startServer({ env: { MAX_FILE_MB: '4', RATE_LIMIT_UPLOADS_PER_MINUTE: '0' } })
  aliceKey = await server.key('alice')
  carolKey = await server.key('carol')
})
afterAll(() => server.close())

interface Answer {
  status: number
  text: string
  message: string
  headers: Headers
  uploadId?: string
}

async function answer(res: Response, uploadId?: string): Promise<Answer> {
  const text = await res.text()
  let message = ''
  try {
    const body = JSON.parse(text) as { error?: { message?: string } }
    message = body.error?.message ?? ''
  } catch {
    message = text
  }
  return {
    status: res.status,
    text,
    message,
    headers: res.headers,
    ...(uploadId ? { uploadId } : {}),
  }
}

function auth(key: string | null): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {}
}

async function viaTrpc(name: string, data: Uint8Array, key: string | null = aliceKey) {
  const form = new FormData()
  form.append('files', new File([data], name, { type: 'image/jpeg' }))
  const res = await fetch(`${server.url}/trpc/photos.upload`, {
    method: 'POST',
    body: form,
    headers: auth(key),
  })
  return answer(res)
}

export function tusMetadata(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k} ${Buffer.from(v, 'utf8').toString('base64')}`)
    .join(',')
}

async function tusCreate(
  headers: Record<string, string>,
  key: string | null = aliceKey,
): Promise<Response> {
  return fetch(`${server.url}/files`, {
    method: 'POST',
    headers: { 'Tus-Resumable': '1.0.0', ...auth(key), ...headers },
  })
}

async function tusPatch(
  location: string,
  offset: number,
  data: Uint8Array,
  headers: Record<string, string> = {},
  key: string | null = aliceKey,
): Promise<Response> {
  return fetch(new URL(location, server.url), {
    method: 'PATCH',
    headers: {
      'Tus-Resumable': '1.0.0',
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
      ...auth(key),
      ...headers,
    },
    body: data,
  })
}

/** Creation, then one PATCH with every byte: the answer of the step that failed (or the last). */
async function viaTus(name: string, data: Uint8Array, key: string | null = aliceKey) {
  const created = await tusCreate(
    {
      'Upload-Length': String(data.byteLength),
      'Upload-Metadata': tusMetadata({ filename: name }),
    },
    key,
  )
  if (created.status !== 201) return answer(created)
  const location = created.headers.get('location')!
  const uploadId = location.split('/').pop()!
  if (data.byteLength === 0) {
    // Nothing to PATCH: the creation completed the upload. Its HEAD tells how it ended.
    await created.arrayBuffer()
    return answer(
      await fetch(new URL(location, server.url), {
        method: 'HEAD',
        headers: { 'Tus-Resumable': '1.0.0', ...auth(key) },
      }),
      uploadId,
    )
  }
  return answer(await tusPatch(location, 0, data, {}, key), uploadId)
}

const EDGES = { trpc: viaTrpc, tus: viaTus } as const
type Edge = keyof typeof EDGES

/** What a body must never contain: stack frames, SQL, paths of this machine, vendor names. */
function expectNoLeak(a: Answer) {
  expect(a.text).not.toMatch(/\bat [\w.<>]+ \(|node:internal|node_modules|\.ts:\d+/)
  expect(a.text).not.toMatch(/\b(SELECT|INSERT|UPDATE|DELETE FROM|SQLITE_\w+)\b/)
  expect(a.text).not.toContain(server.dataDir)
  expect(a.text).not.toMatch(/\/(tmp|home|work|usr)\//)
  expect(a.text).not.toMatch(/vips|libjpeg|libpng|spng|sharp/i)
}

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true }).catch(() => [] as string[])
  const files: string[] = []
  for (const entry of entries) {
    const s = await stat(join(root, entry)).catch(() => null)
    if (s?.isFile()) files.push(entry)
  }
  return files
}

async function photoCount(caller: Caller): Promise<number> {
  const { photos } = server.app.darkroom
  const [listed, pending, trashed] = await Promise.all([
    photos.list(caller, { limit: 1 }),
    photos.list(caller, { limit: 1, pending: true }),
    photos.list(caller, { limit: 1, trashed: true }),
  ])
  return listed.total + pending.total + trashed.total
}

/** Nothing stored for alice, no blob at all, no upload file left, and /healthz still 200. */
async function expectNothingKept(a: Answer) {
  expect(await photoCount(alice)).toBe(0)
  expect(await filesUnder(join(server.dataDir, 'blobs'))).toEqual([])
  if (a.uploadId) {
    // A refused upload's file is removed when its response has been sent.
    let left: string[] = []
    for (let i = 0; i < 40; i++) {
      left = (await filesUnder(join(server.dataDir, 'uploads'))).filter((f) =>
        f.startsWith(a.uploadId!),
      )
      if (left.length === 0) break
      await new Promise((r) => setTimeout(r, 25))
    }
    expect(left).toEqual([])
  }
  const health = await fetch(`${server.url}/healthz`)
  expect(health.status).toBe(200)
  await health.arrayBuffer()
}

// ---------------------------------------------------------------- refused files

interface RefusedCase {
  name: string
  filename: string
  make: () => Promise<Uint8Array> | Uint8Array
  /** The status by edge (tus answers a type refusal at its first PATCH, like tRPC). */
  status: number
  /** The readable message must name the problem. */
  message: RegExp
}

const truncate = async (at: number | 'half') => {
  const jpeg = await makeJpeg({ width: 256, height: 256, seed: 3 })
  return jpeg.subarray(0, at === 'half' ? jpeg.length >> 1 : at)
}

const REFUSED: RefusedCase[] = [
  {
    name: 'PNG bomb: 50000x50000 declared in a tiny file',
    filename: 'bomb.png',
    make: () => pngBomb(50_000, 50_000),
    status: 422,
    message: /50000\s*x\s*50000|pixels/i,
  },
  {
    name: 'JPEG bomb: 65000x65000 declared in its SOF header',
    filename: 'bomb.jpg',
    make: () => jpegBomb(65_000, 65_000),
    status: 422,
    message: /65000\s*x\s*65000|pixels/i,
  },
  {
    name: 'zero-byte file',
    filename: 'empty.jpg',
    make: () => new Uint8Array(0),
    status: 422,
    message: /empty/i,
  },
  {
    name: 'JPEG cut inside its header',
    filename: 'cut.jpg',
    make: () => truncate(120),
    status: 422,
    message: /jpeg/i,
  },
  {
    name: 'JPEG cut half-way through its pixels',
    filename: 'half.jpg',
    make: () => truncate('half'),
    status: 422,
    message: /jpeg/i,
  },
  {
    name: 'polyglot: a JPEG header followed by HTML and script',
    filename: 'polyglot.jpg',
    make: () => jpegHeaderThenHtml(),
    status: 422,
    message: /jpeg/i,
  },
  {
    name: 'SVG with a script',
    filename: 'evil.svg',
    make: () => svgWithScript(),
    status: 422,
    message: /image\/svg\+xml/,
  },
  {
    name: 'SVG with a script named .jpg',
    filename: 'evil.jpg',
    make: () => svgWithScript(),
    status: 422,
    message: /image\/svg\+xml/,
  },
  {
    name: 'a PDF named .jpg',
    filename: 'invoice.jpg',
    make: () => PDF_BYTES,
    status: 422,
    message: /application\/pdf/,
  },
  {
    name: 'HTML named .png',
    filename: 'page.png',
    make: () => Buffer.from('<!doctype html><html><script>alert(document.cookie)</script></html>'),
    status: 422,
    message: /text\/html/,
  },
  {
    name: 'an animated GIF of 5000 frames of 1000x1000 (5 gigapixels to decode)',
    filename: 'frames.gif',
    make: () => gifWithFrames(1000, 1000, 5000),
    status: 422,
    message: /5000 frames|pixels/i,
  },
]

const REFUSED_BY_EDGE = (['trpc', 'tus'] as Edge[]).flatMap((edge) =>
  REFUSED.map((c) => ({ ...c, edge, label: `${edge}: ${c.name}` })),
)

describe('hostile files are refused, by tRPC and by tus', () => {
  it.each(REFUSED_BY_EDGE)(
    '$label',
    async (c) => {
      const data = await c.make()
      const a = await EDGES[c.edge](c.filename, data)
      expect(a.status, a.text).toBe(c.status)
      expect(a.message).toMatch(c.message)
      expectNoLeak(a)
      await expectNothingKept(a)
    },
    30_000,
  )

  it('memory stays bounded while bombs are refused (RSS measured)', async () => {
    const bombs = [
      await pngBomb(50_000, 50_000),
      await jpegBomb(65_000, 65_000),
      gifWithFrames(1000, 1000, 5000),
    ]
    global.gc?.()
    const before = process.memoryUsage().rss
    let peak = before
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5)
    try {
      for (let round = 0; round < 3; round++) {
        for (const [i, bomb] of bombs.entries()) {
          const edge: Edge = (round + i) % 2 === 0 ? 'trpc' : 'tus'
          const a = await EDGES[edge](`bomb-${round}-${i}`, bomb)
          expect(a.status).toBe(422)
        }
      }
    } finally {
      clearInterval(timer)
    }
    peak = Math.max(peak, process.memoryUsage().rss)
    const grewMb = (peak - before) / 1024 / 1024
    console.info(
      `[hostile] RSS before ${(before / 1048576).toFixed(0)} MB, peak growth ${grewMb.toFixed(1)} MB while refusing 9 bombs`,
    )
    // Decoding any of them would take gigabytes (50000x50000x3 is 7.5 GB).
    expect(grewMb).toBeLessThan(150)
    await expectNothingKept({ status: 0, text: '', message: '', headers: new Headers() })
  }, 60_000)
})

// ---------------------------------------------------------------- stored, hostile part dropped

interface KeptCase {
  name: string
  filename: string
  make: () => Promise<Uint8Array>
  expect: Record<string, unknown>
}

const EXIF_CASES: KeptCase[] = [
  {
    name: 'DateTimeOriginal in year 0',
    filename: 'year0.jpg',
    make: () => makeJpeg({ seed: 11, dateTimeOriginal: '0000:00:00 00:00:00' }),
    expect: { takenAt: null, width: 64, height: 48 },
  },
  {
    name: 'DateTimeOriginal in year 9999 with an offset of +99:99',
    filename: 'year9999.jpg',
    make: () =>
      makeJpeg({ seed: 12, dateTimeOriginal: '9999:99:99 99:99:99', offsetTimeOriginal: '+99:99' }),
    expect: { takenAt: null },
  },
  {
    name: 'a 1 MB Make string (PNG eXIf chunk)',
    filename: 'huge-make.png',
    make: () => pngWithExif(tiffBlock({ 0x010f: { ascii: 'M'.repeat(1024 * 1024) } })),
    expect: { width: 40, height: 20 },
  },
  {
    name: 'GPS latitude 200 south, longitude 0/0 (NaN)',
    filename: 'gps-nan.png',
    make: () =>
      pngWithExif(
        tiffBlock(
          {},
          {},
          {
            0x0001: { ascii: 'S' },
            0x0002: {
              rational: [
                [200, 1],
                [0, 1],
                [0, 1],
              ],
            },
            0x0003: { ascii: 'W' },
            0x0004: {
              rational: [
                [0, 0],
                [0, 0],
                [0, 0],
              ],
            },
          },
        ),
      ),
    expect: { exif: expect.objectContaining({ gps: null }) },
  },
  {
    name: 'Orientation 42',
    filename: 'orientation42.png',
    make: () => pngWithExif(tiffBlock({ 0x0112: { short: [42] } })),
    expect: { orientation: null, width: 40, height: 20 },
  },
  {
    name: 'EXIF dimensions 4134x5906 (IFD0 and EXIF IFD) on a 40x20 image',
    filename: 'stale-size.png',
    make: () =>
      pngWithExif(
        tiffBlock(
          { 0x0100: { long: [4134] }, 0x0101: { long: [5906] } },
          { 0xa002: { long: [4134] }, 0xa003: { long: [5906] } },
        ),
      ),
    expect: { width: 40, height: 20, ratio: 2 },
  },
]

/** A safe stored name, or a refusal `{ status, message }`, per edge. */
type NameOutcome = RegExp | string | { status: number; message: RegExp }
const NAME_CASES: (KeptCase & { trpc: NameOutcome; tus: NameOutcome })[] = (
  [
    ['../../etc/passwd.jpg', 'passwd.jpg', 'passwd.jpg'],
    ['..\\..\\windows\\win.ini.jpg', 'win.ini.jpg', 'win.ini.jpg'],
    ['nul\u0000byte.jpg', 'nulbyte.jpg', 'nulbyte.jpg'],
    [
      'x'.repeat(5000) + '.jpg',
      /^x{255}$/,
      // tus refuses the header itself: 5000 characters do not fit Upload-Metadata's 4 KB.
      { status: 400, message: /Upload-Metadata is longer than 4096 characters/ },
    ],
    ['photo\u202Egpj.exe', 'photogpj.exe', 'photogpj.exe'],
    ['...', 'upload', 'upload'],
    ['.', 'upload', 'upload'],
    // A multipart part without a filename is not a file.
    ['', { status: 422, message: /"files" entry is a file/ }, 'upload'],
  ] as const
).map(([filename, trpc, tus], i) => ({
  name: `filename ${JSON.stringify(String(filename).slice(0, 40))}`,
  filename,
  make: () => makeJpeg({ seed: 100 + i }),
  expect: {},
  trpc,
  tus,
}))

describe('valid images with hostile metadata are stored without it', () => {
  it.each((['trpc', 'tus'] as Edge[]).flatMap((edge) => EXIF_CASES.map((c) => ({ ...c, edge }))))(
    '$edge: EXIF $name',
    async (c) => {
      const data = await c.make()
      const a = await EDGES[c.edge](`${c.edge}-${c.filename}`, data, carolKey)
      expect(a.status, a.text).toBeLessThan(300)
      const id = await photoIdOf(a)
      const photo = await server.client(carolKey).photos.get.query({ id })
      expect(photo).toMatchObject(c.expect)
      expect(JSON.stringify(photo).length).toBeLessThan(10_000)
      await expectBlobsOnlyUnder(id)
      await server.client(carolKey).photos.delete.mutate({ id, hard: true })
    },
    30_000,
  )

  it.each((['trpc', 'tus'] as Edge[]).flatMap((edge) => NAME_CASES.map((c) => ({ ...c, edge }))))(
    '$edge: $name',
    async (c) => {
      const data = await c.make()
      let a: Answer
      if (c.edge === 'tus') {
        a = await viaTus(c.filename, data, carolKey)
      } else if (c.filename.includes('\u0000')) {
        // undici refuses a NUL in a multipart filename; a raw body carries it.
        a = await rawMultipart(c.filename, data, carolKey)
      } else {
        a = await viaTrpc(c.filename, data, carolKey)
      }
      const outcome = c[c.edge]
      if (typeof outcome === 'object' && 'status' in outcome) {
        expect(a.status, a.text).toBe(outcome.status)
        expect(a.message).toMatch(outcome.message)
        expectNoLeak(a)
        expect(await photoCount({ ownerId: 'carol', scopes: ['photos.read'] })).toBe(0)
        return
      }
      expect(a.status, a.text).toBeLessThan(300)
      const id = await photoIdOf(a)
      const photo = await server.client(carolKey).photos.get.query({ id })
      if (typeof outcome === 'string') expect(photo.filename).toBe(outcome)
      else expect(photo.filename).toMatch(outcome)
      expect(photo.filename).not.toMatch(/[/\\\u0000-\u001f\u202a-\u202e]/)
      await expectBlobsOnlyUnder(id)
      await server.client(carolKey).photos.delete.mutate({ id, hard: true })
    },
    30_000,
  )

  it.each(['trpc', 'tus'] as Edge[])(
    '%s: a JPEG with HTML after its end is stored, served as image/jpeg with nosniff, variants re-encoded',
    async (edge) => {
      const html = '<html><script>alert(document.cookie)</script></html>'
      const jpeg = await makeJpeg({ seed: 300 + edge.length })
      const data = Buffer.concat([jpeg, Buffer.from(html)])
      const a = await EDGES[edge]('trailing-html.jpg', data, carolKey)
      expect(a.status, a.text).toBeLessThan(300)
      const id = await photoIdOf(a)
      const original = await fetch(`${server.url}/photos/${id}/original.jpg`, {
        headers: auth(carolKey),
      })
      expect(original.headers.get('content-type')).toBe('image/jpeg')
      expect(original.headers.get('x-content-type-options')).toBe('nosniff')
      expect(Buffer.from(await original.arrayBuffer()).equals(data)).toBe(true)
      const small = await fetch(`${server.url}/photos/${id}/small.webp`, {
        headers: auth(carolKey),
      })
      expect(small.status).toBe(200)
      expect(Buffer.from(await small.arrayBuffer()).includes('<script>')).toBe(false)
      await server.client(carolKey).photos.delete.mutate({ id, hard: true })
    },
    30_000,
  )
})

async function photoIdOf(a: Answer): Promise<string> {
  const header = a.headers.get('darkroom-photo-id')
  if (header) return header
  const body = JSON.parse(a.text) as { result: { data: { uploaded: { id: string }[] } } }
  return body.result.data.uploaded[0]!.id
}

async function expectBlobsOnlyUnder(id: string) {
  const files = (await filesUnder(join(server.dataDir, 'blobs'))).map((f) => f.split(/[\\/]/))
  expect(files.filter((segments) => segments.includes(id)).length).toBeGreaterThan(1)
  // Keys come from photo ids only: `photos/<shard>/<shard>/<id>/<variant>`, never a filename.
  for (const segments of files) {
    expect(segments.join('/')).toMatch(
      /^photos\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f-]{36}\/[a-z]+(\.[a-z]+)?$/,
    )
  }
}

/** A multipart body written by hand, so that its filename can carry any byte. */
async function rawMultipart(filename: string, data: Uint8Array, key: string): Promise<Answer> {
  const boundary = '----darkroom' + Math.random().toString(16).slice(2)
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${filename}"\r\n` +
      `Content-Type: image/jpeg\r\n\r\n`,
    'utf8',
  )
  const body = Buffer.concat([head, data, Buffer.from(`\r\n--${boundary}--\r\n`)])
  const res = await fetch(`${server.url}/trpc/photos.upload`, {
    method: 'POST',
    body,
    headers: { ...auth(key), 'content-type': `multipart/form-data; boundary=${boundary}` },
  })
  return answer(res)
}

// ---------------------------------------------------------------- the tus protocol, abused

interface TusCase {
  name: string
  run: () => Promise<Answer>
  status: number | number[]
  /** Matched against the JSON message when the answer has a body. */
  message?: RegExp
}

async function createdUpload(data: Uint8Array): Promise<{ location: string; id: string }> {
  const created = await tusCreate({
    'Upload-Length': String(data.byteLength),
    'Upload-Metadata': tusMetadata({ filename: 'p.jpg' }),
  })
  expect(created.status).toBe(201)
  const location = created.headers.get('location')!
  return { location, id: location.split('/').pop()! }
}

const TUS_CASES: TusCase[] = [
  {
    name: 'Upload-Metadata value that is not base64',
    run: async () =>
      answer(
        await tusCreate({ 'Upload-Length': '10', 'Upload-Metadata': 'filename !!not*base64' }),
      ),
    status: 400,
    message: /invalid upload-metadata|not valid base64/i,
  },
  {
    name: 'Upload-Metadata value that is not UTF-8',
    run: async () =>
      answer(
        await tusCreate({
          'Upload-Length': '10',
          'Upload-Metadata': `filename ${Buffer.from([0xff, 0xfe, 0xc0]).toString('base64')}`,
        }),
      ),
    status: 400,
    message: /not UTF-8/,
  },
  {
    name: 'Upload-Metadata of 12 KB',
    run: async () =>
      answer(
        await tusCreate({
          'Upload-Length': '10',
          'Upload-Metadata': tusMetadata({ filename: 'a'.repeat(9000) }),
        }),
      ),
    status: 400,
    message: /longer than 4096/,
  },
  {
    name: 'Upload-Metadata of 2 MB (over the HTTP header limit)',
    run: async () => {
      try {
        return await answer(
          await tusCreate({
            'Upload-Length': '10',
            'Upload-Metadata': tusMetadata({ filename: 'a'.repeat(1_500_000) }),
          }),
        )
      } catch {
        // Node may cut the connection instead of answering 431; both refuse it.
        return { status: 431, text: '', message: '', headers: new Headers() }
      }
    },
    status: 431,
  },
  {
    name: 'Upload-Metadata with an albumId that is a path',
    run: async () =>
      answer(
        await tusCreate({
          'Upload-Length': '10',
          'Upload-Metadata': tusMetadata({ filename: 'a.jpg', albumId: '../../etc' }),
        }),
      ),
    status: 400,
    message: /not an album id/,
  },
  {
    name: 'Upload-Metadata with 100 keys',
    run: async () =>
      answer(
        await tusCreate({
          'Upload-Length': '10',
          'Upload-Metadata': Array.from({ length: 100 }, (_, i) => `k${i} YQ==`).join(','),
        }),
      ),
    status: 400,
    message: /more than 32 keys/,
  },
  {
    name: 'Upload-Length over the size limit (5 MB > 4 MB)',
    run: async () => answer(await tusCreate({ 'Upload-Length': String(5 * 1024 * 1024) })),
    status: 413,
    message: /too large/i,
  },
  {
    name: 'Upload-Length of 2^62',
    run: async () => answer(await tusCreate({ 'Upload-Length': String(2n ** 62n) })),
    status: [400, 413],
  },
  {
    name: 'Upload-Length negative',
    run: async () => answer(await tusCreate({ 'Upload-Length': '-1' })),
    status: 400,
  },
  {
    name: 'Upload-Length of 0',
    run: async () => answer(await tusCreate({ 'Upload-Length': '0' })),
    status: 422,
    message: /empty/,
  },
  {
    name: 'PATCH at a wrong offset',
    run: async () => {
      const data = await makeJpeg({ seed: 501 })
      const { location, id } = await createdUpload(data)
      const a = await answer(await tusPatch(location, 100, data.subarray(100)), id)
      await fetch(new URL(location, server.url), {
        method: 'DELETE',
        headers: { 'Tus-Resumable': '1.0.0', ...auth(aliceKey) },
      })
      return a
    },
    status: 409,
  },
  {
    name: 'PATCH with more bytes than Upload-Length',
    run: async () => {
      const data = await makeJpeg({ seed: 502 })
      const { location, id } = await createdUpload(data.subarray(0, 200))
      const a = await answer(await tusPatch(location, 0, data), id)
      await fetch(new URL(location, server.url), {
        method: 'DELETE',
        headers: { 'Tus-Resumable': '1.0.0', ...auth(aliceKey) },
      })
      return a
    },
    status: [400, 413],
  },
  {
    name: 'PATCH whose Upload-Checksum does not match',
    run: async () => {
      const data = await makeJpeg({ seed: 503 })
      const { location, id } = await createdUpload(data)
      const wrong = Buffer.alloc(20, 7).toString('base64')
      const a = await answer(
        await tusPatch(location, 0, data, { 'Upload-Checksum': `sha1 ${wrong}` }),
        id,
      )
      // The chunk was dropped: the offset is still 0.
      const head = await fetch(new URL(location, server.url), {
        method: 'HEAD',
        headers: { 'Tus-Resumable': '1.0.0', ...auth(aliceKey) },
      })
      expect(head.headers.get('upload-offset')).toBe('0')
      await fetch(new URL(location, server.url), {
        method: 'DELETE',
        headers: { 'Tus-Resumable': '1.0.0', ...auth(aliceKey) },
      })
      return a
    },
    status: 460,
  },
  {
    name: 'PATCH with an unknown checksum algorithm',
    run: async () => {
      const data = await makeJpeg({ seed: 504 })
      const { location, id } = await createdUpload(data)
      const a = await answer(
        await tusPatch(location, 0, data, { 'Upload-Checksum': 'crc32 AAAAAA==' }),
        id,
      )
      await fetch(new URL(location, server.url), {
        method: 'DELETE',
        headers: { 'Tus-Resumable': '1.0.0', ...auth(aliceKey) },
      })
      return a
    },
    status: 400,
    message: /checksum algorithm/,
  },
  {
    name: 'PATCH to an upload id that is a path',
    run: async () => answer(await tusPatch('/files/..%2F..%2Fsecret', 0, Buffer.from('x'))),
    status: 404,
  },
]

describe('tus protocol abuse', () => {
  it.each(TUS_CASES)(
    '$name',
    async (c) => {
      const a = await c.run()
      const statuses = Array.isArray(c.status) ? c.status : [c.status]
      expect(statuses, a.text).toContain(a.status)
      if (c.message) expect(a.message).toMatch(c.message)
      expectNoLeak(a)
      await expectNothingKept(a)
    },
    30_000,
  )

  it('two concurrent PATCHes on one upload: no corruption, the photo is byte-exact', async () => {
    const data = await makeJpeg({ width: 600, height: 400, seed: 505 })
    const { location, id } = await createdUpload(data)
    const half = data.length >> 1
    const [one, two] = await Promise.all([
      tusPatch(location, 0, data.subarray(0, half)).then((r) => answer(r, id)),
      tusPatch(location, 0, data.subarray(0, half)).then((r) => answer(r, id)),
    ])
    const statuses = [one.status, two.status].sort()
    // One wins; the other finds the offset moved (409) or is cut off by the lock (4xx/5xx, no 2xx).
    expect(statuses.filter((s) => s === 204).length).toBeLessThanOrEqual(1)
    for (const a of [one, two]) expectNoLeak(a)
    const head = await fetch(new URL(location, server.url), {
      method: 'HEAD',
      headers: { 'Tus-Resumable': '1.0.0', ...auth(aliceKey) },
    })
    const offset = Number(head.headers.get('upload-offset'))
    expect(offset).toBeGreaterThanOrEqual(0)
    expect(offset).toBeLessThanOrEqual(half)
    const last = await tusPatch(location, offset, data.subarray(offset))
    expect(last.status).toBe(204)
    const photoId = last.headers.get('darkroom-photo-id')!
    const original = await fetch(`${server.url}/photos/${photoId}/original.jpg`, {
      headers: auth(aliceKey),
    })
    expect(Buffer.from(await original.arrayBuffer()).equals(data)).toBe(true)
    await server.client(aliceKey).photos.delete.mutate({ id: photoId, hard: true })
    await expectNothingKept({ status: 0, text: '', message: '', headers: new Headers() })
  }, 30_000)
})

// ---------------------------------------------------------------- tRPC inputs outside every schema

interface SchemaCase {
  procedure: string
  input: unknown
  /** The violation's property, or the status for what never reaches a schema. */
  property?: string
  status?: number
}

const ID = '01900000-0000-7000-8000-000000000000'
const SCHEMA_CASES: SchemaCase[] = [
  { procedure: 'photos.list', input: { limit: 0 }, property: 'limit' },
  { procedure: 'photos.list', input: { limit: 201 }, property: 'limit' },
  { procedure: 'photos.list', input: { limit: 1.5 }, property: 'limit' },
  { procedure: 'photos.list', input: { limit: '10' }, property: 'limit' },
  { procedure: 'photos.list', input: { offset: -1 }, property: 'offset' },
  { procedure: 'photos.list', input: { offset: 1e300 }, property: 'offset' },
  { procedure: 'photos.list', input: { sort: 'id; DROP TABLE photos' }, property: 'sort' },
  { procedure: 'photos.list', input: { sort: '__proto__' }, property: 'sort' },
  { procedure: 'photos.list', input: { order: 'sideways' }, property: 'order' },
  { procedure: 'photos.list', input: { cursor: 'not a cursor' }, property: 'cursor' },
  {
    procedure: 'photos.list',
    input: {
      cursor: Buffer.from('{"s":"uploaded","o":"desc","v":{"$gt":1},"i":1}').toString('base64url'),
    },
    property: 'cursor',
  },
  { procedure: 'photos.list', input: { cursor: 'x'.repeat(2001) }, property: 'cursor' },
  { procedure: 'photos.list', input: { search: 's'.repeat(201) }, property: 'search' },
  { procedure: 'photos.list', input: { hidden: 'yes' }, property: 'hidden' },
  { procedure: 'photos.get', input: { id: '' }, property: 'id' },
  { procedure: 'photos.get', input: { id: 'x'.repeat(201) }, property: 'id' },
  { procedure: 'photos.get', input: { id: 42 }, property: 'id' },
  { procedure: 'photos.get', input: null, property: 'input' },
  {
    procedure: 'photos.getMany',
    input: { ids: Array.from({ length: 201 }, (_, i) => `id${i}`) },
    property: 'ids',
  },
  // 10,000 ids do not fit a GET query string: Node refuses the request line (431).
  {
    procedure: 'photos.getMany',
    input: { ids: Array.from({ length: 10_000 }, () => ID) },
    status: 431,
  },
  { procedure: 'photos.update', input: { id: ID, width: -1 }, property: 'width' },
  { procedure: 'photos.update', input: { id: ID, width: 1e9 }, property: 'width' },
  {
    procedure: 'photos.update',
    input: { id: ID, description: 'd'.repeat(10_001) },
    property: 'description',
  },
  {
    procedure: 'photos.reorder',
    input: { id: ID, before: ID + 'a', after: ID + 'b' },
    property: 'before',
  },
  { procedure: 'photos.bulkDelete', input: { ids: [] }, property: 'ids' },
  {
    procedure: 'photos.bulkDelete',
    input: { ids: Array.from({ length: 1001 }, (_, i) => `i${i}`) },
    property: 'ids',
  },
  { procedure: 'photos.react', input: { id: ID, rating: 6 }, property: 'rating' },
  { procedure: 'photos.react', input: { id: ID, comment: 'c'.repeat(2001) }, property: 'comment' },
  { procedure: 'photos.move', input: { id: ID }, property: 'albumId' },
  { procedure: 'albums.create', input: { title: '' }, property: 'title' },
  { procedure: 'albums.create', input: { title: 'x', photoCap: -1 }, property: 'photoCap' },
  { procedure: 'albums.create', input: { title: 't'.repeat(201) }, property: 'title' },
  { procedure: 'keys.create', input: { name: 'k', scopes: ['root'] }, property: 'scopes[0]' },
  { procedure: 'webhooks.create', input: { url: 'javascript:alert(1)' }, property: 'url' },
  { procedure: 'photos.nope', input: {}, status: 404 },
]

const MUTATIONS = /\.(update|reorder|bulkDelete|react|move|create|delete|restore|revoke|upload)$/

async function callRaw(procedure: string, input: unknown): Promise<Answer> {
  const headers = auth(aliceKey)
  const res = MUTATIONS.test(procedure)
    ? await fetch(`${server.url}/trpc/${procedure}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(input),
      })
    : await fetch(
        `${server.url}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`,
        { headers },
      ).catch(() => null)
  if (!res) return { status: 431, text: '', message: '', headers: new Headers() }
  return answer(res)
}

describe('tRPC inputs outside every schema', () => {
  it.each(
    SCHEMA_CASES.map((c) => ({
      ...c,
      label: `${c.procedure} ${JSON.stringify(c.input)?.slice(0, 60)}`,
    })),
  )(
    '$label',
    async (c) => {
      const a = await callRaw(c.procedure, c.input)
      if (c.status) {
        expect(a.status).toBe(c.status)
      } else {
        expect(a.status, a.text).toBe(422)
        const body = JSON.parse(a.text) as {
          error: { data: { darkroom: { violations: { property: string; message: string }[] } } }
        }
        const violations = body.error.data.darkroom.violations
        expect(violations.map((v) => v.property)).toContain(c.property)
        for (const v of violations) expect(v.message.length).toBeGreaterThan(5)
      }
      expectNoLeak(a)
      await expectNothingKept(a)
    },
    30_000,
  )

  it('a __proto__ key in an input pollutes nothing: it is an unknown key like any other', async () => {
    const a = await callRaw('photos.list', JSON.parse('{"__proto__":{"polluted":true},"limit":1}'))
    expect(a.status).toBe(422)
    const body = JSON.parse(a.text) as {
      error: { data: { darkroom: { violations: { property: string }[] } } }
    }
    expect(body.error.data.darkroom.violations.map((v) => v.property)).toEqual(['__proto__'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
