import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Scope } from '@darkroom/core'
import { createApiKey, type AppRouter } from '@darkroom/trpc'
import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  isNonJsonSerializable,
  splitLink,
  type TRPCClient,
} from '@trpc/client'
import { createFsBlobStore } from '@darkroom/storage'
import { compose, type ComposeOptions, type Composed } from '../compose.js'
import { loadConfig } from '../config.js'
import { createLogger } from '../logger.js'

/**
 * A real server on 127.0.0.1:0 over a temp DATA_DIR, for tests: env goes through `loadConfig`
 * like in production. `restart()` closes it and composes again on the same DATA_DIR.
 */
export interface TestServer {
  app: Composed
  url: string
  dataDir: string
  key(ownerId: string, scopes?: Scope[]): Promise<string>
  client(key?: string | null): TRPCClient<AppRouter>
  restart(): Promise<TestServer>
  close(options?: { keepData?: boolean }): Promise<void>
}

/** Webhooks to a receiver on 127.0.0.1 (any port): the operator's exemption tests need. */
export const LOOPBACK_WEBHOOKS = {
  WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  WEBHOOK_ALLOWED_PORTS: 'any',
} as const

export async function startServer(
  options: {
    env?: Record<string, string>
    dataDir?: string
    compose?: Partial<Omit<ComposeOptions, 'config'>>
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'darkroom-server-')))
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ...options.env,
  })
  const app = await compose({
    config,
    logger: createLogger(process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent', {
      pretty: false,
    }),
    ...options.compose,
  })
  const url = await app.listen()
  const server: TestServer = {
    app,
    url,
    dataDir,
    async key(ownerId, scopes = ['photos.read', 'photos.write']) {
      const { key } = await createApiKey(app.serverStore, { ownerId, name: 'test', scopes })
      return key
    },
    client(key) {
      return makeClient(url, key ?? null)
    },
    async restart() {
      await app.close()
      return startServer({ ...options, dataDir })
    },
    async close({ keepData = false } = {}) {
      await app.close(1_000)
      if (!keepData && !options.dataDir) await rm(dataDir, { recursive: true, force: true })
    },
  }
  return server
}

export function makeClient(url: string, key: string | null): TRPCClient<AppRouter> {
  const headers = () => (key ? { authorization: `Bearer ${key}` } : {})
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => isNonJsonSerializable(op.input),
        true: httpLink({ url: `${url}/trpc`, headers }),
        false: httpBatchLink({ url: `${url}/trpc`, headers }),
      }),
    ],
  })
}

/** A FormData for `photos.upload`. */
export function uploadForm(
  files: { name: string; data: Uint8Array; type?: string }[],
  fields: Record<string, string> = {},
): FormData {
  const form = new FormData()
  for (const file of files) {
    const bytes = new Uint8Array(file.data) // a copy over a plain ArrayBuffer, as File wants
    form.append('files', new File([bytes], file.name, { type: file.type ?? 'image/jpeg' }))
  }
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  return form
}

/** A minimal PDF: a type Darkroom refuses. */
export const PDF_BYTES = Buffer.from(
  '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n' +
    '2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n'.repeat(
      80,
    ),
)

/** A JPEG of noise (it does not compress): about `width * height * 0.9` bytes at quality 95. */
export async function makeNoiseJpeg(width: number, height: number, seed = 1): Promise<Buffer> {
  const { default: sharp } = await import('sharp')
  const pixels = Buffer.alloc(width * height * 3)
  let state = seed >>> 0 || 1
  for (let i = 0; i < pixels.length; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    pixels[i] = state & 0xff
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer()
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** The stored original's bytes, read through the blob store (the folder layout is its own). */
export async function readStoredOriginal(dataDir: string, photoId: string): Promise<Buffer> {
  const stream = await createFsBlobStore({ root: join(dataDir, 'blobs') }).get(
    `photos/${photoId}/original`,
  )
  if (!stream) throw new Error(`no original stored for ${photoId}`)
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
