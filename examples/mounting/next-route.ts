// Darkroom in a Next.js App Router route handler: the file `app/media/[...path]/route.ts`
// holds what `nextRouteHandlers` returns, one export per method (see docs/mounting.md):
//
//   import { handler } from '@/lib/darkroom' // createDarkroomHandler({ ..., basePath: '/media' })
//   export const runtime = 'nodejs'
//   export const dynamic = 'force-dynamic'
//   export const { GET, HEAD, POST, PATCH, DELETE, OPTIONS } = nextRouteHandlers(handler)
import type { DarkroomHandler } from '@darkroom/http'

export type RouteHandler = (request: Request) => Promise<Response>

export function nextRouteHandlers(
  handler: DarkroomHandler,
): Record<'GET' | 'HEAD' | 'POST' | 'PATCH' | 'DELETE' | 'OPTIONS', RouteHandler> {
  const serve: RouteHandler = (request) => handler.fetch(request)
  return { GET: serve, HEAD: serve, POST: serve, PATCH: serve, DELETE: serve, OPTIONS: serve }
}
