import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DarkroomError } from '@darkroom/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { json } from '../internal/responses.js'
import type { Profile } from './profile.js'
import { form, makeJpeg, startProfileServer, type ProfileServer } from './testing/harness.js'

/**
 * The profile mechanism on a real server: a profile's routes beside Darkroom's own, its error
 * shape for everything it throws (405 with `Allow` included), multipart bodies spooled to files
 * with the engine's limits, JSON bodies capped, and a profile under its own base path.
 */

const seen: { size: number; truncated: boolean; bytes: number }[] = []

const echo: Profile = {
  name: 'echo',
  title: 'test profile',
  routes: (deps) => [
    {
      method: 'GET',
      path: '/things/:id',
      handle: async ({ params, requireCaller }) => {
        const caller = await requireCaller()
        return json(200, { id: params.id, owner: caller.ownerId, base: deps.profileBase })
      },
    },
    {
      method: ['POST', 'PUT'],
      path: '/things',
      handle: async ({ request }) => {
        const caller = { ownerId: 'echo', scopes: ['photos.write' as const] }
        const received = await deps.receiveForm(request, { fileFields: ['image', 'file'], caller })
        try {
          seen.length = 0
          for (const file of received.files) {
            const bytes = (await stat(file.path)).size
            seen.push({ size: file.size, truncated: file.truncated, bytes })
            expect((await readFile(file.path)).length).toBe(bytes)
          }
          return json(201, { files: received.files.length, title: received.field('title') ?? null })
        } finally {
          await received.dispose()
        }
      },
    },
    {
      method: 'PATCH',
      path: '/things/:id',
      handle: async ({ request }) => json(200, { body: (await deps.readJson(request)) ?? null }),
    },
  ],
  errorResponse: (error) => {
    const status =
      error instanceof DarkroomError
        ? ({ NOT_FOUND: 404, UNAUTHORIZED: 401, VALIDATION: 422, PAYLOAD_TOO_LARGE: 413 }[
            error.code as 'NOT_FOUND'
          ] ?? 400)
        : ((error as { status?: number }).status ?? 500)
    return json(status, { oops: (error as Error).message })
  },
}

let server: ProfileServer
beforeAll(async () => {
  server = await startProfileServer({
    profiles: [echo, { profile: echo, basePath: '/echo2' }],
    config: { limits: { maxFileBytes: 200_000, maxFilesPerBatch: 3 } },
  })
})
afterAll(() => server?.close())

describe('profiles mounted in the handler', () => {
  it('routes by method and path, with decoded params and the caller', async () => {
    const got = await server.send('GET', '/things/a%20b', { headers: { 'x-user': 'carol' } })
    expect(got.status).toBe(200)
    expect(got.json).toEqual({ id: 'a b', owner: 'carol', base: '' })
    const under = await server.send('GET', '/echo2/things/x', { headers: { 'x-user': 'carol' } })
    expect(under.json).toEqual({ id: 'x', owner: 'carol', base: '/echo2' })
  })

  it("answers its own error shape, with 405 and Allow for a known path's other methods", async () => {
    const anonymous = await server.send('GET', '/things/1')
    expect(anonymous.status).toBe(401)
    expect(anonymous.json).toEqual({ oops: expect.stringContaining('API key') })
    const wrong = await server.send('DELETE', '/things/1')
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('GET, HEAD, PATCH')
    expect(wrong.json).toEqual({ oops: 'Use GET, HEAD, PATCH on this path.' })
  })

  it("leaves paths it does not know to Darkroom's routes", async () => {
    const health = await server.send('GET', '/healthz')
    expect(health.status).toBe(200)
  })

  it('spools multipart files to disk, keeping only maxFileBytes of a larger one', async () => {
    const small = await makeJpeg(100, 100)
    const big = new Uint8Array(300_000).fill(7)
    const got = await server.send('POST', '/things', {
      body: form([
        ['title', 'hello'],
        ['image', { filename: 'a.jpg', data: small }],
        ['file', { filename: 'b.bin', data: big }],
      ]),
    })
    expect(got.status).toBe(201)
    expect(got.json).toEqual({ files: 2, title: 'hello' })
    expect(seen).toEqual([
      { size: small.length, truncated: false, bytes: small.length },
      { size: 300_000, truncated: true, bytes: 200_000 },
    ])
  })

  it('refuses a file in an unknown field, too many files and a body that is not multipart', async () => {
    const data = await makeJpeg(50, 50)
    const unknown = await server.send('POST', '/things', {
      body: form([['photo', { filename: 'a.jpg', data }]]),
    })
    expect(unknown.status).toBe(422)
    expect(unknown.json).toEqual({
      oops: 'Validation failed. Unknown file field "photo". Send files as "image", "file".',
    })
    const many = await server.send('POST', '/things', {
      body: form([1, 2, 3, 4].map((i) => ['image', { filename: `${i}.jpg`, data }])),
    })
    expect(many.status).toBe(422)
    const notForm = await server.send('POST', '/things', { body: { a: 1 } })
    expect(notForm.status).toBe(415)
  })

  it('reads JSON whatever its Content-Type, and refuses one over 1 MiB by Content-Length', async () => {
    const curl = await server.send('PATCH', '/things/1', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '{ "is_hidden": true }',
    })
    expect(curl.json).toEqual({ body: { is_hidden: true } })
    const big = await server.send('PATCH', '/things/1', { body: 'x'.repeat(1024 * 1024 + 1) })
    expect(big.status).toBe(413)
    // The body was left unread: the connection is not reused.
    expect(big.headers.get('connection')).toBe('close')
    const bad = await server.send('PATCH', '/things/1', { body: '{nope' })
    expect(bad.status).toBe(400)
  })

  it('removes the temporary files of forms a stop cut off, at start, and no others', async () => {
    const tmp = join(server.dataDir, 'tmp')
    await mkdir(tmp, { recursive: true })
    await writeFile(join(tmp, 'form-cut-off'), 'x')
    const hoursAgo = new Date(Date.now() - 2 * 3_600_000)
    await utimes(join(tmp, 'form-cut-off'), hoursAgo, hoursAgo)
    await writeFile(join(tmp, 'form-being-received'), 'y')
    await server.handler.recoverUploads()
    expect((await readdir(tmp)).sort()).toEqual(['form-being-received'])
  })
})
