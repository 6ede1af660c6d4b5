// Darkroom inside a Hono app on Node (@hono/node-server), under /media:
//   DATA_DIR=./data PORT=3000 npx tsx examples/mounting/hono.ts
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { Hono } from 'hono'
import type { DarkroomHandler } from '@darkroom/http'
import { createMedia } from './media.js'

export function createHonoApp(handler: DarkroomHandler): Hono {
  const app = new Hono()
  // The Fetch form: the raw Request in, its Response out. The client's address feeds the
  // per-IP limits on guest uploads.
  app.all('/media/*', (c) => handler.fetch(c.req.raw, { ip: getConnInfo(c).remote.address }))
  app.get('/hello', (c) => c.text('hello'))
  return app
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const media = await createMedia(process.env.DATA_DIR ?? './data')
  const port = Number(process.env.PORT ?? 3000)
  serve({ fetch: createHonoApp(media.handler).fetch, port, hostname: '127.0.0.1' }, () => {
    console.log(`http://127.0.0.1:${port}/media (API key ${media.key})`)
  })
}
