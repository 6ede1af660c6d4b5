import { isDarkroomError } from '@darkroom/core'
import type { AppRouter, RequestContext } from '@darkroom/trpc'
import { getTRPCErrorShape, TRPCError } from '@trpc/server'
import { fetchRequestHandler } from '@trpc/server/adapters/fetch'
import { json } from './internal/responses.js'
import type { Logger } from './logger.js'
import type { Route } from './router.js'

/**
 * `/trpc` through tRPC's Fetch adapter (batching on). A request body is cut off past
 * `maxBodyBytes` (a declared `Content-Length` over it is refused before a byte is read) with
 * tRPC's own `PAYLOAD_TOO_LARGE`, so clients get the error in the shape they decode. A
 * `RATE_LIMITED` refusal carries `Retry-After`. A path that names no procedure at all is a
 * JSON 404 in tRPC's error shape whatever the method (tRPC itself answers a HEAD 204 and a
 * body-less POST 415 before it looks).
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
  const procedures = new Set(Object.keys(router._def.procedures))
  return async (request, _path, url) => {
    const unknown = unknownProcedures(url, endpoint, procedures)
    if (unknown) return notFound(router, unknown)
    return fetchRequestHandler({
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
}

/**
 * The procedure paths of a request (read as tRPC reads them: a batch is comma-separated) when
 * none of them is a procedure, else null. A batch naming some known procedure is tRPC's to
 * answer (207, one result or error per call).
 */
function unknownProcedures(url: URL, endpoint: string, procedures: ReadonlySet<string>) {
  const trim = (s: string) => s.replace(/^\/+|\/+$/g, '')
  let path = trim(trim(url.pathname).slice(trim(endpoint).length))
  try {
    path = decodeURIComponent(path)
  } catch {
    // tRPC answers a malformed escape with its BAD_REQUEST.
    return null
  }
  const batch = url.searchParams.get('batch') === '1'
  const names = batch ? path.split(',') : [path]
  return names.some((name) => procedures.has(name)) ? null : { names, batch }
}

/** tRPC's own answer to an unknown procedure (one error per call in a batch), for any method. */
function notFound(
  router: AppRouter,
  { names, batch }: { names: string[]; batch: boolean },
): Response {
  const errors = names.map((path) => ({
    error: getTRPCErrorShape({
      config: router._def._config,
      error: new TRPCError({ code: 'NOT_FOUND', message: `No procedure found on path "${path}"` }),
      type: 'unknown',
      path,
      input: undefined,
      ctx: undefined,
    }),
  }))
  return json(404, batch ? errors : errors[0])
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
