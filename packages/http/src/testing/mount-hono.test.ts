import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createHonoApp } from '../../../../examples/mounting/hono.js'
import { createDarkroomHandler } from '../handler.js'
import { describeMountContract } from './mount.contract.js'

// Hono on @hono/node-server: the Fetch form, `handler.fetch(c.req.raw, { ip })`.
describeMountContract({
  name: 'Hono (Fetch)',
  async start({ handlerOptions }) {
    const handler = createDarkroomHandler(handlerOptions)
    const app = createHonoApp(handler)
    const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>(
      (resolve) => {
        const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
          resolve({ server, port: (info as AddressInfo).port }),
        )
      },
    )
    return {
      url: `http://127.0.0.1:${port}`,
      async close() {
        if ('closeAllConnections' in server) server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => resolve()))
        await handler.close()
      },
    }
  },
})
