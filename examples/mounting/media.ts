// The Darkroom part that every mounting example shares: the engine over a SQLite file and a
// folder of blobs, and its HTTP handler under /media. Each example (express.ts, fastify.ts,
// hono.ts, next-route.ts, node-http.ts) mounts `handler` in its framework.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { createDarkroom } from '@darkroom/core'
import { createDarkroomHandler, type DarkroomHandler } from '@darkroom/http'
import { createFsBlobStore, createSqliteStore } from '@darkroom/storage'
import { createApiKey } from '@darkroom/trpc'

export interface Media {
  handler: DarkroomHandler
  /** An API key of owner `demo`, made at start, to try the routes with. */
  key: string
  close(): Promise<void>
}

export async function createMedia(dataDir: string): Promise<Media> {
  const store = createSqliteStore({ filename: join(dataDir, 'darkroom.db') })
  const darkroom = await createDarkroom({
    store,
    blobs: createFsBlobStore({ root: join(dataDir, 'blobs') }),
  })
  const handler = createDarkroomHandler({
    darkroom,
    serverStore: store.server,
    // Keep a fixed secret (32+ characters) in production: signed image URLs outlive a restart.
    signingSecret: randomBytes(32).toString('hex'),
    dataDir,
    basePath: '/media',
    // Your own sign-in beside Darkroom's API keys, e.g. your session cookie or JWT:
    // authenticate: async ({ headers }) => (await yourSession(headers))?.toCaller() ?? null,
  })
  const { key } = await createApiKey(store.server, {
    ownerId: 'demo',
    name: 'mounting example',
    scopes: ['photos.read', 'photos.write'],
  })
  return {
    handler,
    key,
    async close() {
      await handler.close()
      await darkroom.close()
    },
  }
}
