// Darkroom in a plain node:http server, under /media, beside the app's own routes:
//   DATA_DIR=./data PORT=3000 npx tsx examples/mounting/node-http.ts
import { createServer, type Server } from 'node:http'
import { fileURLToPath } from 'node:url'
import type { DarkroomHandler } from '@darkroom/http'
import { createMedia } from './media.js'

export function createNodeServer(handler: DarkroomHandler): Server {
  // Uploads may take long: no overall request timeout (Node's default is 5 minutes).
  return createServer({ requestTimeout: 0 }, (req, res) => {
    // Darkroom answers its own paths; anything else goes to `next`: the app's routes.
    void handler.node(req, res, () => {
      if (req.url === '/hello') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('hello')
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such page')
      }
    })
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const media = await createMedia(process.env.DATA_DIR ?? './data')
  const port = Number(process.env.PORT ?? 3000)
  createNodeServer(media.handler).listen(port, '127.0.0.1', () => {
    console.log(`http://127.0.0.1:${port}/media (API key ${media.key})`)
  })
}
