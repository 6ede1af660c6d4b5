import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createDarkroom,
  type Caller,
  type Darkroom,
  type DarkroomConfigInput,
  type Scope,
} from '@darkroom/core'
import { createFsBlobStore, createSqliteStore } from '@darkroom/storage'
import { createApiKey, type Authenticate } from '@darkroom/trpc'
import sharp from 'sharp'
import {
  createDarkroomHandler,
  type DarkroomHandler,
  type DarkroomHandlerOptions,
} from '../../handler.js'

/**
 * A real server for a profile's replay test: an engine over SQLite and a folder in a temporary
 * directory, the handler with the profiles asked for on node:http at 127.0.0.1:0, API keys for
 * two owners, and the app's own sign-in (`x-user: <owner>`, standing in for a JWT or a session
 * cookie) beside them. Requests are raw HTTP (`fetch` with the bytes the seed's curl sends).
 */
export interface ProfileServer {
  /** `http://127.0.0.1:<port>` */
  origin: string
  darkroom: Darkroom
  handler: DarkroomHandler
  /** The handler's `dataDir`. */
  dataDir: string
  /** API keys (`sk_...`) by owner: `alice` and `bob` with photos.read + photos.write. */
  keys: { alice: string; bob: string; aliceReadOnly: string; aliceWriteOnly: string }
  /** `Authorization: Bearer <key>` */
  bearer(key: string): Record<string, string>
  /** Raw HTTP to the server: status, headers, the body as text and parsed JSON when it is JSON. */
  send(method: string, path: string, init?: SendInit): Promise<Sent>
  close(): Promise<void>
}

export interface SendInit {
  headers?: Record<string, string>
  /** A string or bytes as they are, a FormData as multipart, an object as JSON. */
  body?: string | Uint8Array | FormData | Record<string, unknown> | unknown[]
}

export interface Sent {
  status: number
  headers: Headers
  text: string
  /** The parsed body when it is JSON, else undefined. */
  json: unknown
}

export const ALICE: Caller = { ownerId: 'alice', scopes: ['photos.read', 'photos.write'] }
export const BOB: Caller = { ownerId: 'bob', scopes: ['photos.read', 'photos.write'] }

/** The app's sign-in: `x-user: <owner>` (or `Cookie: session=<owner>`) is that user. */
export const appAuthenticate: Authenticate = async ({ headers }) => {
  const user =
    headers.get('x-user') ?? /(?:^|;\s*)session=([^;]+)/.exec(headers.get('cookie') ?? '')?.[1]
  return user ? { ownerId: user, scopes: ['photos.read', 'photos.write'] } : null
}

export async function startProfileServer(options: {
  profiles: NonNullable<DarkroomHandlerOptions['profiles']>
  config?: DarkroomConfigInput
  guestUploads?: boolean
  basePath?: string
  uploads?: DarkroomHandlerOptions['uploads']
}): Promise<ProfileServer> {
  const dir = await mkdtemp(join(tmpdir(), 'darkroom-profile-'))
  const store = createSqliteStore({ filename: join(dir, 'darkroom.db') })
  const darkroom = await createDarkroom({
    store,
    blobs: createFsBlobStore({ root: join(dir, 'blobs') }),
    ...(options.config ? { config: options.config } : {}),
  })
  const handler = createDarkroomHandler({
    darkroom,
    serverStore: store.server,
    signingSecret: randomBytes(32).toString('hex'),
    dataDir: dir,
    authenticate: appAuthenticate,
    profiles: options.profiles,
    guestUploads: options.guestUploads ?? false,
    ...(options.basePath ? { basePath: options.basePath } : {}),
    ...(options.uploads ? { uploads: options.uploads } : {}),
  })
  const server: Server = createServer((req, res) => void handler.node(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const key = async (ownerId: string, scopes: Scope[]) =>
    (await createApiKey(store.server, { ownerId, name: 'replay', scopes })).key
  const keys = {
    alice: await key('alice', ['photos.read', 'photos.write']),
    bob: await key('bob', ['photos.read', 'photos.write']),
    aliceReadOnly: await key('alice', ['photos.read']),
    aliceWriteOnly: await key('alice', ['photos.write']),
  }
  return {
    origin,
    darkroom,
    handler,
    dataDir: dir,
    keys,
    bearer: (k) => ({ authorization: `Bearer ${k}` }),
    async send(method, path, init = {}) {
      const headers: Record<string, string> = { ...init.headers }
      let body: NonNullable<RequestInit['body']> | undefined
      const b = init.body
      if (typeof b === 'string' || b instanceof Uint8Array)
        body = b as NonNullable<RequestInit['body']>
      else if (b instanceof FormData) body = b
      else if (b !== undefined) {
        body = JSON.stringify(b)
        headers['content-type'] ??= 'application/json'
      }
      const response = await fetch(`${origin}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        redirect: 'manual',
      })
      const text = await response.text()
      let json: unknown
      if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') {
        json = JSON.parse(text)
      }
      return { status: response.status, headers: response.headers, text, json }
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await handler.close()
      await darkroom.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** A JPEG of one random colour with a unique EXIF description, so no two are duplicates. */
export async function makeJpeg(width = 1600, height = 1200, exif: Record<string, string> = {}) {
  const [r, g, b] = randomBytes(3)
  return sharp({ create: { width, height, channels: 3, background: { r: r!, g: g!, b: b! } } })
    .withExif({ IFD0: { ImageDescription: randomUUID(), ...exif } })
    .jpeg({ quality: 85 })
    .toBuffer()
}

/** A PNG of one random colour. */
export async function makePng(width = 64, height = 48) {
  const [r, g, b] = randomBytes(3)
  return sharp({ create: { width, height, channels: 3, background: { r: r!, g: g!, b: b! } } })
    .png()
    .toBuffer()
}

/** A multipart form as curl `-F name=@file` / `-F name=value` sends it. */
export function form(
  entries: [name: string, value: string | { filename: string; data: Uint8Array; type?: string }][],
): FormData {
  const out = new FormData()
  for (const [name, value] of entries) {
    if (typeof value === 'string') out.append(name, value)
    else {
      out.append(
        name,
        new Blob([value.data], { type: value.type ?? 'application/octet-stream' }),
        value.filename,
      )
    }
  }
  return out
}
