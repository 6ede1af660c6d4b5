import { makeJpeg } from '@darkroom/core/testing'
import { TRPCClientError } from '@trpc/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PDF_BYTES, startServer, uploadForm, type TestServer } from './testing/harness.js'

/** @trpc/client against the real server: statuses and bodies of every error code, scopes, owners. */

let server: TestServer
let aliceKey: string
let bobKey: string
let readOnlyKey: string

beforeAll(async () => {
  server = await startServer({ env: { MAX_FILE_MB: '1' } })
  aliceKey = await server.key('alice')
  bobKey = await server.key('bob')
  readOnlyKey = await server.key('alice', ['photos.read'])
})
afterAll(() => server.close())

async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to fail')
    },
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(TRPCClientError)
  const e = error as TRPCClientError<any>
  return { status: e.data?.httpStatus, code: e.data?.code, data: e.data, message: e.message }
}

describe('tRPC over HTTP', () => {
  it('serves /healthz', async () => {
    const res = await fetch(`${server.url}/healthz`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ ok: true, checks: { database: 'ok', blobs: 'ok' } })
  })

  it('batches calls and uploads with FormData', async () => {
    const alice = server.client(aliceKey)
    const album = await alice.albums.create.mutate({ title: 'Holidays' })
    const form = uploadForm(
      [{ name: 'a.jpg', data: await makeJpeg({ width: 64, height: 48, seed: 1 }) }],
      {
        albumId: album.id,
      },
    )
    const { uploaded } = await alice.photos.upload.mutate(form)
    expect(uploaded).toHaveLength(1)
    const [one, list] = await Promise.all([
      alice.photos.get.query({ id: uploaded[0]!.id }),
      alice.photos.list.query({ albumId: album.id }),
    ])
    expect(one).toMatchObject({ width: 64, height: 48, albumId: album.id })
    expect(list.total).toBe(1)
  })

  it('maps every error code to its status and body', async () => {
    const alice = server.client(aliceKey)
    const missing = await failure(
      alice.photos.get.query({ id: '0190f0c0-0000-7000-8000-000000000000' }),
    )
    expect(missing).toMatchObject({ status: 404, code: 'NOT_FOUND' })

    const anonymous = await failure(server.client(null).photos.list.query({}))
    expect(anonymous).toMatchObject({ status: 401, code: 'UNAUTHORIZED' })

    const badKey = await failure(server.client('sk_' + 'x'.repeat(40)).photos.list.query({}))
    expect(badKey).toMatchObject({ status: 401, code: 'UNAUTHORIZED' })

    const readOnly = await failure(server.client(readOnlyKey).albums.create.mutate({ title: 'x' }))
    expect(readOnly).toMatchObject({ status: 403, code: 'FORBIDDEN' })

    const pdf = await failure(
      alice.photos.upload.mutate(uploadForm([{ name: 'doc.pdf', data: PDF_BYTES }])),
    )
    expect(pdf).toMatchObject({ status: 422, code: 'UNPROCESSABLE_CONTENT' })
    expect(JSON.stringify(pdf.data)).toContain('application/pdf')
    expect(pdf.data.darkroom.violations[0]).toMatchObject({ property: 'file' })

    const capped = await alice.albums.create.mutate({ title: 'One only', photoCap: 1 })
    const two = uploadForm(
      [
        { name: '1.jpg', data: await makeJpeg({ seed: 11 }) },
        { name: '2.jpg', data: await makeJpeg({ seed: 12 }) },
      ],
      { albumId: capped.id },
    )
    const cap = await failure(alice.photos.upload.mutate(two))
    expect(cap).toMatchObject({ status: 400, code: 'BAD_REQUEST' })
    expect(cap.message).toMatch(/photoCap|cap/i)

    const big = await makeJpeg({ width: 1600, height: 1200, seed: 13 })
    const noise = Buffer.concat([big, Buffer.alloc(1024 * 1024 + 10, 7)])
    const tooLarge = await failure(
      alice.photos.upload.mutate(uploadForm([{ name: 'big.jpg', data: noise }])),
    )
    expect(tooLarge).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' })

    // CONFLICT: moving a photo into an album that already holds the same bytes.
    const bytes = await makeJpeg({ seed: 14 })
    const a = await alice.albums.create.mutate({ title: 'A' })
    const b = await alice.albums.create.mutate({ title: 'B' })
    await alice.photos.upload.mutate(
      uploadForm([{ name: 'x.jpg', data: bytes }], { albumId: a.id }),
    )
    const inB = await alice.photos.upload.mutate(
      uploadForm([{ name: 'x.jpg', data: bytes }], { albumId: b.id }),
    )
    const conflict = await failure(
      alice.photos.move.mutate({ id: inB.uploaded[0]!.id, albumId: a.id }),
    )
    expect(conflict).toMatchObject({ status: 409, code: 'CONFLICT' })
  })

  it('keeps owners apart and enforces scopes', async () => {
    const alice = server.client(aliceKey)
    const bob = server.client(bobKey)
    const album = await alice.albums.create.mutate({ title: 'Private' })
    const { uploaded } = await alice.photos.upload.mutate(
      uploadForm(
        [
          { name: 'p.jpg', data: await makeJpeg({ seed: 21 }) },
          { name: 'q.jpg', data: await makeJpeg({ seed: 22 }) },
        ],
        { albumId: album.id },
      ),
    )
    const [p, q] = uploaded as unknown as [{ id: string }, { id: string }]

    expect((await failure(bob.photos.get.query({ id: p.id }))).status).toBe(404)
    expect((await bob.photos.list.query({})).items.map((i) => i.id)).not.toContain(p.id)
    const foreignAlbum = await bob.photos.list.query({ albumId: album.id }).catch((e) => e)
    if (foreignAlbum instanceof TRPCClientError) expect(foreignAlbum.data?.httpStatus).toBe(404)
    else expect(foreignAlbum.items).toHaveLength(0)
    expect((await failure(bob.photos.move.mutate({ id: p.id, albumId: null }))).status).toBe(404)
    expect((await failure(bob.photos.reorder.mutate({ id: p.id, before: q.id }))).status).toBe(404)
    expect((await failure(bob.photos.delete.mutate({ id: p.id }))).status).toBe(404)
    expect((await bob.photos.getMany.query({ ids: [p.id, q.id] })).length).toBe(0)
    const bulk = await bob.photos.bulkDelete.mutate({ ids: [p.id] })
    expect(bulk).toMatchObject({ deleted: 0, failed: 1 })
    expect(bulk.failures[0]).toMatchObject({ id: p.id, code: 'NOT_FOUND' })
    expect((await failure(bob.uploads.status.query({ id: 'nope' }))).status).toBe(404)

    // Routes: bob's key cannot fetch alice's private photo.
    const bobAuth = { authorization: `Bearer ${bobKey}` }
    expect(
      (await fetch(`${server.url}/photos/${p.id}/small.webp`, { headers: bobAuth })).status,
    ).toBe(404)
    expect((await fetch(`${server.url}/image/${p.id}.jpg?w=32`, { headers: bobAuth })).status).toBe(
      404,
    )
    expect((await fetch(`${server.url}/image/${p.id}.jpg?w=32`)).status).toBe(404)
    const badAuth = { authorization: `Bearer sk_${'y'.repeat(40)}` }
    expect((await fetch(`${server.url}/image/${p.id}.jpg?w=32`, { headers: badAuth })).status).toBe(
      401,
    )

    // The read-only key reads, but cannot write.
    const reader = server.client(readOnlyKey)
    expect((await reader.photos.get.query({ id: p.id })).id).toBe(p.id)
    expect((await failure(reader.photos.delete.mutate({ id: p.id }))).status).toBe(403)
    expect(
      (await failure(reader.photos.update.mutate({ id: p.id, description: 'x' }))).status,
    ).toBe(403)
    const readerUpload = await fetch(`${server.url}/files`, {
      method: 'POST',
      headers: {
        'Tus-Resumable': '1.0.0',
        'Upload-Length': '10',
        authorization: `Bearer ${readOnlyKey}`,
      },
    })
    expect(readerUpload.status).toBe(403)

    // Still all there for alice.
    expect((await alice.photos.getMany.query({ ids: [p.id, q.id] })).length).toBe(2)
  })

  it('refuses unknown keys and form fields (422), each violation naming its property', async () => {
    const alice = server.client(aliceKey)
    const album = await alice.albums.create.mutate({ title: 'Strict' })
    const { uploaded } = await alice.photos.upload.mutate(
      uploadForm([{ name: 's.jpg', data: await makeJpeg({ seed: 31 }) }]),
    )
    const id = uploaded[0]!.id

    // What a seed client sends: its own field names. Refused, and nothing changes.
    const update = await failure(alice.photos.update.mutate({ id, is_hidden: true } as never))
    expect(update).toMatchObject({ status: 422, code: 'UNPROCESSABLE_CONTENT' })
    expect(update.data.darkroom.violations).toEqual([
      {
        property: 'is_hidden',
        message: expect.stringMatching(/^Unknown key "is_hidden"\. Allowed: id, description, /),
        reason: 'unrecognized_keys',
      },
    ])
    expect((await alice.photos.get.query({ id })).hidden).toBe(false)
    const list = await failure(alice.photos.list.query({ category_id: 'x' } as never))
    expect(list.data.darkroom.violations).toMatchObject([{ property: 'category_id' }])

    // The form field `album_id` would have put the photo outside the album.
    const form = uploadForm([{ name: 't.jpg', data: await makeJpeg({ seed: 32 }) }], {
      album_id: album.id,
    })
    const upload = await failure(alice.photos.upload.mutate(form))
    expect(upload).toMatchObject({ status: 422 })
    expect(upload.data.darkroom.violations).toMatchObject([
      { property: 'album_id', message: expect.stringContaining('albumId') },
    ])
    expect((await alice.photos.list.query({ albumId: album.id })).total).toBe(0)

    // Raw JSON: a missing key and a wrong type, each named.
    const raw = await fetch(`${server.url}/trpc/photos.move`, {
      method: 'POST',
      headers: { authorization: `Bearer ${aliceKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ albumId: 7 }),
    })
    expect(raw.status).toBe(422)
    const body = (await raw.json()) as { error: { data: { darkroom: { violations: unknown } } } }
    expect(body.error.data.darkroom.violations).toEqual([
      { property: 'id', message: 'id is required.', reason: 'invalid_type' },
      {
        property: 'albumId',
        message: 'albumId: expected a string, received number',
        reason: 'invalid_type',
      },
    ])
  })
})
