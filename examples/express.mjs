// Darkroom's HTTP API inside an Express app, under /media (the @darkroom/http README's example).
// In a project of its own:
//   npm install @darkroom/core @darkroom/storage @darkroom/trpc @darkroom/http @trpc/server express
//   node express.mjs                 PORT (default 3000; 0 picks one), DATA_DIR (default ./data)
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import express from 'express'
import { createDarkroom } from '@darkroom/core'
import { createDarkroomHandler } from '@darkroom/http'
import { createFsBlobStore, createSqliteStore } from '@darkroom/storage'
import { createApiKey } from '@darkroom/trpc'

const dataDir = process.env.DATA_DIR ?? './data'
const store = createSqliteStore({ filename: join(dataDir, 'darkroom.db') })
const darkroom = await createDarkroom({
  store,
  blobs: createFsBlobStore({ root: join(dataDir, 'blobs') }),
})
const media = createDarkroomHandler({
  darkroom,
  serverStore: store.server,
  // Signs image URLs; keep it fixed (and secret) so that signed URLs survive a restart.
  signingSecret: process.env.SIGNING_SECRET ?? randomBytes(32).toString('base64url'),
  dataDir,
  basePath: '/media',
})

const app = express()
app.use('/media', media.node) // /media/trpc, /media/files (tus), /media/image, /media/healthz ...
app.get('/', (_req, res) => res.send('My app; its photos are under /media.'))

// A key for alice, shown once (only its hash is stored): `Authorization: Bearer sk_...`.
const { key } = await createApiKey(store.server, {
  ownerId: 'alice',
  name: 'express example',
  scopes: ['photos.read', 'photos.write'],
})
const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/media`)
  console.log(`API key for alice: ${key}`)
})
process.on('SIGTERM', () => server.close(() => media.close().then(() => darkroom.close())))
