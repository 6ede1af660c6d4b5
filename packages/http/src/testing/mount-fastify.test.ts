import { createFastifyApp } from '../../../../examples/mounting/fastify.js'
import { createDarkroomHandler } from '../handler.js'
import { describeMountContract } from './mount.contract.js'

// Fastify 5: an encapsulated plugin under the prefix, bodies left unparsed, requests handed to
// the Node handler after `reply.hijack()`.
describeMountContract({
  name: 'Fastify 5',
  async start({ handlerOptions }) {
    const handler = createDarkroomHandler(handlerOptions)
    const app = createFastifyApp(handler)
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    return {
      url,
      async close() {
        app.server.closeAllConnections()
        await app.close()
        await handler.close()
      },
    }
  },
})
