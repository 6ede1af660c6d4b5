import type { AddressInfo } from 'node:net'
import { createExpressApp } from '../../../../examples/mounting/express.js'
import { createDarkroomHandler } from '../handler.js'
import { describeMountContract } from './mount.contract.js'

// Express 5: `app.use('/media', handler.node)`, the app's own route beside it.
describeMountContract({
  name: 'Express 5',
  async start({ handlerOptions }) {
    const handler = createDarkroomHandler(handlerOptions)
    const app = createExpressApp(handler)
    const server = await new Promise<import('node:http').Server>((resolve, reject) => {
      const listening = app.listen(0, '127.0.0.1', (error?: Error) =>
        error ? reject(error) : resolve(listening),
      )
    })
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
