// Darkroom inside an Express 5 app, under /media:
//   DATA_DIR=./data PORT=3000 npx tsx examples/mounting/express.ts
import { fileURLToPath } from 'node:url'
import express, { type Express } from 'express'
import type { DarkroomHandler } from '@darkroom/http'
import { createMedia } from './media.js'

export function createExpressApp(handler: DarkroomHandler): Express {
  const app = express()
  // Before any body parser of the app's own (express.json() and the like), or scoped to its
  // routes: Darkroom reads its request bodies itself, streamed.
  app.use('/media', handler.node)
  app.get('/hello', (_req, res) => {
    res.type('text/plain').send('hello')
  })
  return app
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const media = await createMedia(process.env.DATA_DIR ?? './data')
  const port = Number(process.env.PORT ?? 3000)
  createExpressApp(media.handler).listen(port, '127.0.0.1', () => {
    console.log(`http://127.0.0.1:${port}/media (API key ${media.key})`)
  })
}
