import type { Caller } from '@darkroom/core'
import { makeJpeg } from '@darkroom/core/testing'
import { createApiKey } from '@darkroom/trpc'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../testing/harness.js'

/**
 * The isolation matrix: every tRPC procedure (read from the router, so a new procedure that is
 * missing here fails) and every HTTP route, called by each kind of caller against alice's
 * things, with the exact status each cell must answer. The table is written out by hand, not
 * derived from the code. Someone else's ids are 404, like missing ones, never 403. After every
 * cell that is not alice's own, her things must be untouched and no body may carry her data.
 */

const CALLERS = ['owner', 'other', 'readOnly', 'revoked', 'none', 'guest'] as const
type CallerKind = (typeof CALLERS)[number]
/** owner, other owner, read-only key (alice's), revoked key (alice's), no key, guest uploads on */
type Row = readonly [number, number, number, number, number, number]

// prettier-ignore
const TRPC_EXPECTED: Record<string, Row> = {
  //                        owner other  read revoked none guest
  'photos.upload':           [200,  404,  403,  401,  401,  404],
  'photos.list':             [200,  404,  200,  401,  401,  401],
  'photos.get':              [200,  404,  200,  401,  401,  401],
  'photos.getMany':          [200,  200,  200,  401,  401,  401],
  'photos.update':           [200,  404,  403,  401,  401,  401],
  'photos.move':             [200,  404,  403,  401,  401,  401],
  'photos.reorder':          [200,  404,  403,  401,  401,  401],
  'photos.delete':           [200,  404,  403,  401,  401,  401],
  'photos.bulkDelete':       [200,  200,  403,  401,  401,  401],
  'photos.restore':          [200,  404,  403,  401,  401,  401],
  'photos.repairDimensions': [200,  200,  403,  401,  401,  401],
  'photos.react':            [200,  404,  200,  401,  401,  401],
  'photos.listComments':     [200,  404,  200,  401,  401,  401],
  'photos.signUrls':         [200,  404,  200,  401,  401,  401],
  'albums.create':           [200,  200,  403,  401,  401,  401],
  'albums.list':             [200,  200,  200,  401,  401,  401],
  'albums.get':              [200,  404,  200,  401,  401,  401],
  'albums.update':           [200,  404,  403,  401,  401,  401],
  'albums.delete':           [200,  404,  403,  401,  401,  401],
  // Only admins set quotas: alice's own key is refused like the others.
  'owners.me':               [200,  200,  200,  401,  401,  401],
  'owners.setQuota':         [403,  403,  403,  401,  401,  401],
  'keys.create':             [200,  200,  200,  401,  401,  401],
  'keys.list':               [200,  200,  200,  401,  401,  401],
  'keys.revoke':             [200,  404,  403,  401,  401,  401],
  'webhooks.create':         [200,  200,  403,  401,  401,  401],
  'webhooks.list':           [200,  200,  200,  401,  401,  401],
  'webhooks.delete':         [200,  404,  403,  401,  401,  401],
  'uploads.status':          [200,  404,  200,  401,  401,  401],
}

// prettier-ignore
const HTTP_EXPECTED: Record<string, Row> = {
  //                              owner other  read revoked none guest
  'POST /files':                   [201,  404,  403,  401,  401,  404],
  'HEAD /files/{id}':              [200,  404,  200,  401,  401,  404],
  'PATCH /files/{id}':             [204,  404,  403,  401,  401,  404],
  'DELETE /files/{id}':            [204,  404,  403,  401,  401,  404],
  'GET /image/{id}.jpg':           [200,  404,  200,  401,  404,  404],
  'GET /photos/{id}/small.webp':   [200,  404,  200,  401,  404,  404],
  'GET /photos/{id}/original.jpg': [200,  404,  200,  401,  404,  404],
  'GET /healthz':                  [200,  200,  200,  200,  200,  200],
}

let main: TestServer
let guests: TestServer
const ALICE: Caller = { ownerId: 'alice', scopes: ['photos.read', 'photos.write'] }
let seed = 0

beforeAll(async () => {
  // Every case works on fresh fixtures, one webhook each: room for all of them.
  const env = { RATE_LIMIT_UPLOADS_PER_MINUTE: '0', WEBHOOK_MAX_PER_OWNER: '1000' }
  ;[main, guests] = await Promise.all([
    startServer({ env }),
    startServer({ env: { ...env, GUEST_UPLOADS: 'true' } }),
  ])
})
afterAll(() => Promise.all([main?.close(), guests?.close()]))

interface Fixtures {
  albumId: string
  photoId: string
  photo2Id: string
  trashedId: string
  keyId: string
  webhookId: string
  uploadId: string
  upload: Buffer
}

/** Fresh things of alice's for one cell, so that cells never depend on one another. */
async function fixtures(server: TestServer): Promise<Fixtures> {
  const { darkroom, serverStore } = server.app
  const album = await darkroom.albums.create(ALICE, { title: 'Alice' })
  const jpegs = await Promise.all([1, 2, 3].map(() => makeJpeg({ seed: ++seed })))
  const { uploaded } = await darkroom.photos.upload(ALICE, {
    albumId: album.id,
    files: jpegs.map((data, i) => ({ filename: `p${i}.jpg`, data })),
  })
  const [photo, photo2, trashed] = [...uploaded].sort((a, b) => a.index - b.index)
  await darkroom.photos.delete(ALICE, { id: trashed!.id })
  const { apiKey } = await createApiKey(serverStore, {
    ownerId: 'alice',
    name: 'spare',
    scopes: ['photos.read', 'photos.write'],
  })
  const aliceKey = await server.key('alice')
  const webhook = await server
    .client(aliceKey)
    .webhooks.create.mutate({ url: 'https://hooks.example.com/darkroom' })
  const upload = await makeJpeg({ seed: ++seed })
  const created = await fetch(`${server.url}/files`, {
    method: 'POST',
    headers: {
      'Tus-Resumable': '1.0.0',
      authorization: `Bearer ${aliceKey}`,
      'Upload-Length': String(upload.length),
      'Upload-Metadata': `filename ${Buffer.from('u.jpg').toString('base64')}`,
    },
  })
  expect(created.status).toBe(201)
  return {
    albumId: album.id,
    photoId: photo!.id,
    photo2Id: photo2!.id,
    trashedId: trashed!.id,
    keyId: apiKey.id,
    webhookId: webhook.webhook.id,
    uploadId: created.headers.get('location')!.split('/').pop()!,
    upload,
  }
}

const keys = new Map<CallerKind, Promise<{ server: TestServer; key: string | null }>>()

/** The key (or none) a caller kind sends, and which server it calls (made once per kind). */
function credentials(kind: CallerKind): Promise<{ server: TestServer; key: string | null }> {
  let found = keys.get(kind)
  if (!found) {
    found = makeCredentials(kind)
    keys.set(kind, found)
  }
  return found
}

async function makeCredentials(
  kind: CallerKind,
): Promise<{ server: TestServer; key: string | null }> {
  switch (kind) {
    case 'owner':
      return { server: main, key: await main.key('alice') }
    case 'other':
      return { server: main, key: await main.key('bob') }
    case 'readOnly':
      return { server: main, key: await main.key('alice', ['photos.read']) }
    case 'revoked': {
      const { key, apiKey } = await createApiKey(main.app.serverStore, {
        ownerId: 'alice',
        name: 'revoked',
        scopes: ['photos.read', 'photos.write'],
      })
      await main.app.serverStore.revokeApiKey(apiKey.id, new Date())
      return { server: main, key }
    }
    case 'none':
      return { server: main, key: null }
    case 'guest':
      return { server: guests, key: null }
  }
}

const shared = new Map<TestServer, Promise<Fixtures>>()

/**
 * A cell that is expected to succeed at a write gets fresh fixtures; every other cell shares one
 * set per server, which `expectUntouched` checks after each of them (so a refused call that
 * changed something anyway is caught by the next check at the latest).
 */
function fixturesFor(server: TestServer, writes: boolean, expected: number): Promise<Fixtures> {
  if (writes && expected < 300) return fixtures(server)
  let found = shared.get(server)
  if (!found) {
    found = fixtures(server)
    shared.set(server, found)
  }
  return found
}

// Inputs aimed at alice's things.
const TRPC_INPUTS: Record<string, (f: Fixtures) => unknown> = {
  'photos.upload': () => null, // multipart, built in call()
  'photos.list': (f) => ({ albumId: f.albumId }),
  'photos.get': (f) => ({ id: f.photoId }),
  'photos.getMany': (f) => ({ ids: [f.photoId, f.photo2Id] }),
  'photos.update': (f) => ({ id: f.photoId, description: 'changed' }),
  'photos.move': (f) => ({ id: f.photoId, albumId: null }),
  'photos.reorder': (f) => ({ id: f.photoId, after: f.photo2Id }),
  'photos.delete': (f) => ({ id: f.photoId, hard: true }),
  'photos.bulkDelete': (f) => ({ ids: [f.photoId], hard: true }),
  'photos.restore': (f) => ({ id: f.trashedId }),
  'photos.repairDimensions': () => ({}),
  'photos.react': (f) => ({ id: f.photoId, like: true }),
  'photos.listComments': (f) => ({ id: f.photoId }),
  'photos.signUrls': (f) => ({ id: f.photoId }),
  'albums.create': () => ({ title: 'New' }),
  'albums.list': () => undefined,
  'albums.get': (f) => ({ id: f.albumId }),
  'albums.update': (f) => ({ id: f.albumId, title: 'Renamed' }),
  'albums.delete': (f) => ({ id: f.albumId }),
  'owners.me': () => undefined,
  'owners.setQuota': () => ({ ownerId: 'alice', quotaBytes: 1 }),
  'keys.create': () => ({ name: 'k', scopes: ['photos.read'] }),
  'keys.list': () => undefined,
  'keys.revoke': (f) => ({ id: f.keyId }),
  'webhooks.create': () => ({ url: 'https://hooks.example.com/other' }),
  'webhooks.list': () => undefined,
  'webhooks.delete': (f) => ({ id: f.webhookId }),
  'uploads.status': (f) => ({ id: f.uploadId }),
}

interface Result {
  status: number
  text: string
}

async function callTrpc(
  server: TestServer,
  key: string | null,
  path: string,
  f: Fixtures,
): Promise<Result> {
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {}
  const type = procedureType(server, path)
  let res: Response
  if (path === 'photos.upload') {
    const form = new FormData()
    form.append('files', new File([await makeJpeg({ seed: ++seed })], 'new.jpg'))
    form.append('albumId', f.albumId)
    res = await fetch(`${server.url}/trpc/${path}`, { method: 'POST', body: form, headers })
  } else if (type === 'mutation') {
    res = await fetch(`${server.url}/trpc/${path}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(TRPC_INPUTS[path]!(f) ?? null),
    })
  } else {
    const input = TRPC_INPUTS[path]!(f)
    const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`
    res = await fetch(`${server.url}/trpc/${path}${query}`, { headers })
  }
  return { status: res.status, text: await res.text() }
}

async function callHttp(
  server: TestServer,
  key: string | null,
  route: string,
  f: Fixtures,
): Promise<Result> {
  const auth: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {}
  const tus = { 'Tus-Resumable': '1.0.0', ...auth }
  const upload = `${server.url}/files/${f.uploadId}`
  let res: Response
  switch (route) {
    case 'POST /files':
      res = await fetch(`${server.url}/files`, {
        method: 'POST',
        headers: {
          ...tus,
          'Upload-Length': '1000',
          'Upload-Metadata': `filename ${Buffer.from('n.jpg').toString('base64')},albumId ${Buffer.from(f.albumId).toString('base64')}`,
        },
      })
      break
    case 'HEAD /files/{id}':
      res = await fetch(upload, { method: 'HEAD', headers: tus })
      break
    case 'PATCH /files/{id}':
      res = await fetch(upload, {
        method: 'PATCH',
        headers: {
          ...tus,
          'Upload-Offset': '0',
          'Content-Type': 'application/offset+octet-stream',
        },
        body: f.upload,
      })
      break
    case 'DELETE /files/{id}':
      res = await fetch(upload, { method: 'DELETE', headers: tus })
      break
    case 'GET /image/{id}.jpg':
      res = await fetch(`${server.url}/image/${f.photoId}.jpg?w=32`, { headers: auth })
      break
    case 'GET /photos/{id}/small.webp':
      res = await fetch(`${server.url}/photos/${f.photoId}/small.webp`, { headers: auth })
      break
    case 'GET /photos/{id}/original.jpg':
      res = await fetch(`${server.url}/photos/${f.photoId}/original.jpg`, { headers: auth })
      break
    case 'GET /healthz':
      res = await fetch(`${server.url}/healthz`, { headers: auth })
      break
    default:
      throw new Error(`no call for ${route}`)
  }
  const text = await res.text()
  return { status: res.status, text }
}

/** Alice's things are as the fixtures left them (for cells that are not hers). */
async function expectUntouched(server: TestServer, f: Fixtures) {
  const { darkroom, serverStore } = server.app
  const photo = await darkroom.photos.get(ALICE, { id: f.photoId })
  expect(photo).toMatchObject({ deletedAt: null, description: '', albumId: f.albumId, likes: 0 })
  expect((await darkroom.photos.get(ALICE, { id: f.trashedId })).deletedAt).not.toBeNull()
  expect(await darkroom.albums.get(ALICE, { id: f.albumId })).toMatchObject({ title: 'Alice' })
  const keys = await serverStore.listApiKeys('alice')
  expect(keys.find((k) => k.id === f.keyId)?.revokedAt).toBeNull()
  expect((await serverStore.listWebhooks('alice')).map((w) => w.id)).toContain(f.webhookId)
  expect(await serverStore.getUpload(f.uploadId)).toMatchObject({ state: 'receiving' })
  expect((await darkroom.owners.me(ALICE)).quotaBytes).toBeNull()
}

const OTHER_OWNER_BODIES: Record<string, RegExp> = {
  'photos.getMany': /^\{"result":\{"data":\[\]\}\}$/,
  'photos.bulkDelete': /"deleted":0,"failed":1,"failures":\[\{"id":"[^"]+","code":"NOT_FOUND"/,
  'photos.repairDimensions': /"scanned":0/,
  'owners.me': /"usedBytes":0,"profilePhotoId":null/,
}

/** `query` or `mutation`: tRPC's flat record of procedures (typed as the nested router). */
function procedureType(server: TestServer, path: string): string {
  const procedures = server.app.router._def.procedures as unknown as Record<
    string,
    { _def: { type: string } }
  >
  return procedures[path]!._def.type
}

const cells = <K extends string>(table: Record<K, Row>) =>
  (Object.keys(table) as K[]).flatMap((name) =>
    CALLERS.map((caller, i) => ({ name, caller, expected: table[name][i]! })),
  )

describe('isolation matrix', () => {
  it('covers every procedure of the router', () => {
    const procedures = Object.keys(main.app.router._def.procedures).sort()
    expect(procedures).toEqual(Object.keys(TRPC_EXPECTED).sort())
    expect(Object.keys(TRPC_INPUTS).sort()).toEqual(procedures)
  })

  it.each(cells(TRPC_EXPECTED))('tRPC $name as $caller: $expected', async (cell) => {
    const { server, key } = await credentials(cell.caller)
    const type = procedureType(server, cell.name)
    const f = await fixturesFor(server, type === 'mutation', cell.expected)
    const result = await callTrpc(server, key, cell.name, f)
    expect(result.status, result.text).toBe(cell.expected)
    if (cell.caller !== 'owner' && cell.caller !== 'readOnly') {
      expect(result.text).not.toContain('"ownerId":"alice"')
      await expectUntouched(server, f)
    }
    // Where another owner gets a 200, it is an empty answer, as if alice's ids did not exist.
    if (cell.caller === 'other' && cell.expected === 200) {
      const body = OTHER_OWNER_BODIES[cell.name]
      if (body) expect(result.text).toMatch(body)
    }
  })

  it.each(cells(HTTP_EXPECTED))('HTTP $name as $caller: $expected', async (cell) => {
    const { server, key } = await credentials(cell.caller)
    const f = await fixturesFor(server, /^(POST|PATCH|DELETE) /.test(cell.name), cell.expected)
    const result = await callHttp(server, key, cell.name, f)
    expect(result.status, result.text).toBe(cell.expected)
    if (cell.caller !== 'owner' && cell.caller !== 'readOnly') {
      expect(result.text).not.toContain('"ownerId":"alice"')
      await expectUntouched(server, f)
    }
  })
})
