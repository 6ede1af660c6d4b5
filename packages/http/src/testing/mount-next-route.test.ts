import { createServer } from 'node:http'
import { getRequestListener } from '@hono/node-server'
import { nextRouteHandlers, routeLikeNext } from '../../../../examples/mounting/next-route.js'
import { createDarkroomHandler } from '../handler.js'
import { describeMountContract, listenMounted } from './mount.contract.js'

/**
 * A Next.js App Router route handler (`app/media/[...path]/route.ts`), without Next itself: the
 * module's exports are called the way Next calls them, with a plain `Request` per method, by
 * a node:http server (`getRequestListener` of @hono/node-server turns its requests into Fetch
 * ones, without replacing the global Request and Response); see `routeLikeNext`.
 */
describeMountContract({
  name: 'Next.js route handler (Fetch)',
  async start({ handlerOptions }) {
    const handler = createDarkroomHandler(handlerOptions)
    const app = routeLikeNext(nextRouteHandlers(handler))
    const server = createServer(getRequestListener(app, { overrideGlobalObjects: false }))
    return listenMounted(server, handler)
  },
})
