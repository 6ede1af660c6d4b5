// Darkroom inside a Fastify 5 app, under /media:
//   DATA_DIR=./data PORT=3000 npx tsx examples/mounting/fastify.ts
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify'
import type { DarkroomHandler } from '@darkroom/http'
import { createMedia } from './media.js'

/**
 * Darkroom as an encapsulated Fastify plugin: inside it, no content-type parser reads a body
 * (the catch-all parser leaves the stream alone, so uploads are not buffered and Fastify's
 * `bodyLimit` does not apply; Darkroom has its own limits), and every request is handed to
 * the Node handler on `request.raw`/`reply.raw` after `reply.hijack()`. Register it with the
 * prefix the handler's `basePath` names.
 */
export function darkroomPlugin(handler: DarkroomHandler): FastifyPluginAsync {
  return async (fastify) => {
    fastify.removeAllContentTypeParsers()
    fastify.addContentTypeParser('*', (_request, _payload, done) => done(null))
    fastify.all('/*', async (request, reply) => {
      reply.hijack()
      await handler.node(request.raw, reply.raw)
    })
  }
}

export function createFastifyApp(handler: DarkroomHandler): FastifyInstance {
  const app = Fastify()
  app.register(darkroomPlugin(handler), { prefix: '/media' })
  app.get('/hello', async (_request, reply) => reply.type('text/plain').send('hello'))
  return app
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const media = await createMedia(process.env.DATA_DIR ?? './data')
  const port = Number(process.env.PORT ?? 3000)
  const url = await createFastifyApp(media.handler).listen({ port, host: '127.0.0.1' })
  console.log(`${url}/media (API key ${media.key})`)
}
