import { isDarkroomError } from '@darkroom/core'
import type { AppRouter, RequestContext } from '@darkroom/trpc'
import { TRPCError } from '@trpc/server'
import { fetchRequestHandler } from '@trpc/server/adapters/fetch'
import type { Logger } from './logger.js'
import type { Route } from './router.js'

/**
 * `/trpc` through tRPC's Fetch adapter (batching on). A request body is cut off past
 * `maxBodyBytes` (a declared `Content-Length` over it is refused before a byte is read) with
 * tRPC's own `PAYLOAD_TOO_LARGE`, so clients get the error in the shape they decode. A
 * `RATE_LIMITED` refusal carries `Retry-After`.
 */
export function createTrpcRoute(options: {
  router: AppRouter
  /** The full public path of the endpoint, e.g. `/media/trpc`. */
  endpoint: string
  maxBodyBytes: number
  /** The client's address, for per-IP limits on guests. */
  ipOf: (request: Request) => string | undefined
  logger: Logger
}): Route {
  const { router, endpoint, maxBodyBytes, logger } = options
  return (request) =>
    fetchRequestHandler({
      endpoint,
      req: limitBody(request, maxBodyBytes),
      router,
      createContext: ({ req }): RequestContext => {
        const ip = options.ipOf(request)
        return ip ? { headers: req.headers, ip } : { headers: req.headers }
      },
      responseMeta: ({ errors }) => {
        const limited = errors.find((e) => isDarkroomError(e.cause) && e.cause.retryAfterMs)
        const retryAfterMs = limited && isDarkroomError(limited.cause) && limited.cause.retryAfterMs
        return retryAfterMs
          ? { headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } }
          : {}
      },
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR') {
          logger.error({ err: error.cause ?? error, path }, 'tRPC procedure failed')
        }
      },
    })
}

/** The request, with a body that fails with `PAYLOAD_TOO_LARGE` past `maxBytes`. */
function limitBody(request: Request, maxBytes: number): Request {
  if (request.method === 'GET' || request.method === 'HEAD' || request.body === null) {
    return request
  }
  const declared = Number(request.headers.get('content-length') ?? NaN)
  const tooLarge = () => new TRPCError({ code: 'PAYLOAD_TOO_LARGE' })
  let body: ReadableStream<Uint8Array>
  if (Number.isFinite(declared) && declared > maxBytes) {
    void request.body.cancel().catch(() => undefined)
    body = new ReadableStream({ start: (controller) => controller.error(tooLarge()) })
  } else {
    let seen = 0
    body = request.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength
          if (seen > maxBytes) controller.error(tooLarge())
          else controller.enqueue(chunk)
        },
      }),
    )
  }
  return new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body,
    signal: request.signal,
    duplex: 'half',
  } as RequestInit)
}
