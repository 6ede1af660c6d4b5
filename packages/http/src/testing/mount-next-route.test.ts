import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import { nextRouteHandlers } from '../../../../examples/mounting/next-route.js'
import { createDarkroomHandler } from '../handler.js'
import { describeMountContract } from './mount.contract.js'

/**
 * A Next.js App Router route handler (`app/media/[...path]/route.ts`), without Next itself: the
 * module's exports are called the way Next calls them, with a plain `Request` per method, by
 * a node:http server (`getRequestListener` of @hono/node-server turns its requests into Fetch
 * ones, without replacing the global Request and Response). Paths Next would route elsewhere
 * get the app's own route or a 404 page.
 */
describeMountContract({
  name: 'Next.js route handler (Fetch)',
  async start({ handlerOptions }) {
    const handler = createDarkroomHandler(handlerOptions)
    const route = nextRouteHandlers(handler)
    const app = async (request: Request): Promise<Response> => {
      const { pathname } = new URL(request.url)
      if (pathname.startsWith('/media/')) {
        const method = route[request.method as keyof typeof route]
        return method ? method(request) : new Response(null, { status: 405 })
      }
      if (pathname === '/hello' && request.method === 'GET') {
        return new Response('hello', { headers: { 'Content-Type': 'text/plain' } })
      }
      return new Response('This page could not be found.', { status: 404 })
    }
    const server = createServer(getRequestListener(app, { overrideGlobalObjects: false }))
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
