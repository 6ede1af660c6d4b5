import type { AddressInfo } from 'node:net'
import { createNodeServer } from '../../../../examples/mounting/node-http.js'
import { createDarkroomHandler } from '../handler.js'
import { describeMountContract } from './mount.contract.js'

// Plain node:http: `handler.node(req, res, next)`, the app's routes behind `next`.
describeMountContract({
  name: 'node:http',
  async start({ handlerOptions }) {
    const handler = createDarkroomHandler(handlerOptions)
    const server = createNodeServer(handler)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    return {
      url: `http://127.0.0.1:${port}`,
      async close() {
        server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => resolve()))
        await handler.close()
      },
    }
  },
})
