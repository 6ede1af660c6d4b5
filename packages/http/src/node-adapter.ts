import type { IncomingMessage, ServerResponse } from 'node:http'
import { NodeRequest, sendNodeResponse } from 'srvx/node'

/**
 * The Fetch handler mounted in Node (node:http, Express, Connect, Fastify's `reply.raw`).
 * srvx's `NodeRequest` is a `Request` read lazily from the `IncomingMessage` (the body is
 * streamed only when a route reads it), and `sendNodeResponse` writes a `Response` back,
 * piping a Node stream body as it is.
 */

export type NodeHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => Promise<void>

export function toNodeHandler(options: {
  /** Whether the handler serves this path (else `next`, or a 404 without one). */
  owns: (pathname: string) => boolean
  handle: (request: Request) => Promise<Response>
  /** The 404 for a path it does not own, when there is no `next`. */
  notFound: () => Response
}): NodeHandler {
  return async (req, res, next) => {
    // Express and Connect rewrite `url` for an app mounted under a path; the base path is the
    // full public path, so the original URL is the one to read.
    const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/'
    const pathname = url.split('?', 1)[0] ?? '/'
    if (!options.owns(pathname)) {
      if (next) return next()
      await sendNodeResponse(res, options.notFound())
      return
    }
    req.url = url
    await sendNodeResponse(res, await options.handle(new NodeRequest({ req, res })))
  }
}

/**
 * The client's address: `given` (what a Fetch platform said), else the socket's of a request
 * made by `toNodeHandler`. No proxy header is trusted here.
 */
export function ipOf(request: Request, given?: string): string | undefined {
  if (given) return given
  const runtime = (request as { runtime?: { node?: { req?: IncomingMessage } } }).runtime
  return runtime?.node?.req?.socket.remoteAddress
}
