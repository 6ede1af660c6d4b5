// Darkroom in a Next.js App Router route handler, `app/media/[...path]/route.ts`: one export per
// method, each `(request: Request) => handler.fetch(request)` (see docs/mounting.md):
//
//   const serve = (request: Request) => handler.fetch(request)
//   export const GET = serve // and HEAD, POST, PATCH, DELETE, OPTIONS
//
// `nextRouteHandlers` returns those exports, for the tests and the runnable example below.
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { getRequestListener } from '@hono/node-server'
import type { DarkroomHandler } from '@darkroom/http'
import { createMedia } from './media.js'

export type RouteHandler = (request: Request) => Promise<Response>

export function nextRouteHandlers(
  handler: DarkroomHandler,
): Record<'GET' | 'HEAD' | 'POST' | 'PATCH' | 'DELETE' | 'OPTIONS', RouteHandler> {
  const serve: RouteHandler = (request) => handler.fetch(request)
  return { GET: serve, HEAD: serve, POST: serve, PATCH: serve, DELETE: serve, OPTIONS: serve }
}

/**
 * Without Next: the route module's handlers called as Next calls them, with a plain `Request`
 * for each path under /media, beside another route of the app (`app/hello/route.ts`); Next's
 * 404 page for the rest. Behind node:http, this is how the tests and the example below run.
 */
export function routeLikeNext(
  route: Record<string, RouteHandler>,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const { pathname } = new URL(request.url)
    const method = route[request.method]
    if (pathname.startsWith('/media/')) {
      return method ? method(request) : new Response(null, { status: 405 })
    }
    if (pathname === '/hello' && request.method === 'GET') {
      return new Response('hello', { headers: { 'Content-Type': 'text/plain' } })
    }
    return new Response('This page could not be found.', { status: 404 })
  }
}

//   DATA_DIR=./data PORT=3000 npx tsx examples/mounting/next-route.ts
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const media = await createMedia(process.env.DATA_DIR ?? './data')
  const app = routeLikeNext(nextRouteHandlers(media.handler))
  const port = Number(process.env.PORT ?? 3000)
  // getRequestListener turns node:http requests into Fetch ones (the globals left as they are).
  createServer(getRequestListener(app, { overrideGlobalObjects: false })).listen(
    port,
    '127.0.0.1',
    () => console.log(`http://127.0.0.1:${port}/media (API key ${media.key})`),
  )
}
