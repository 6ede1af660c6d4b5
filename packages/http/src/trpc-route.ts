import { isDarkroomError } from '@darkroom/core'
import type { AppRouter, RequestContext } from '@darkroom/trpc'
import { getTRPCErrorShape, TRPCError } from '@trpc/server'
import { fetchRequestHandler } from '@trpc/server/adapters/fetch'
import { openAsBlob } from 'node:fs'
import type { BodyBudget } from './api/body-budget.js'
import { MAX_JSON_BYTES } from './api/json-body.js'
import { HttpProblem } from './errors.js'
import type { ReceivedForm } from './api/multipart.js'
import { json } from './internal/responses.js'
import type { Logger } from './logger.js'
import type { Route } from './router.js'

/**
 * `/trpc` through tRPC's Fetch adapter (batching on). A JSON body is cut off past
 * `maxBodyBytes` (a declared `Content-Length` over it is refused before a byte is read) with
 * tRPC's own `PAYLOAD_TOO_LARGE`, so clients get the error in the shape they decode; a
 * multipart body (`photos.upload`) is spooled to disk file by file (see `SpooledForm`). A
 * `RATE_LIMITED` refusal carries `Retry-After`. A path that names no procedure at all is a
 * JSON 404 in tRPC's error shape whatever the method (tRPC itself answers a HEAD 204 and a
 * body-less POST 415 before it looks).
 */
export function createTrpcRoute(options: {
  router: AppRouter
  /** The full public path of the endpoint, e.g. `/media/trpc`. */
  endpoint: string
  /** JSON bodies (every procedure but the multipart upload); default 1 MiB. */
  maxBodyBytes?: number
  /** A multipart body (`photos.upload`), its files spooled to disk as they arrive. */
  receiveForm: (request: Request) => Promise<ReceivedForm>
  /** The client's address, for per-IP limits on guests. */
  ipOf: (request: Request) => string | undefined
  /** The handler's budget of bodies in flight, for the JSON bodies read here. */
  budget?: BodyBudget
  logger: Logger
}): Route {
  const { router, endpoint, logger } = options
  const maxBodyBytes = options.maxBodyBytes ?? MAX_JSON_BYTES
  const procedures = new Set(Object.keys(router._def.procedures))
  return async (request, _path, url) => {
    const unknown = unknownProcedures(url, endpoint, procedures)
    if (unknown) return notFound(router, unknown)
    try {
      options.budget?.open(request)
    } catch (error) {
      return refusedUnread(router, error, url)
    }
    const spooled = isMultipart(request) ? new SpooledForm(request, options.receiveForm) : null
    try {
      const req = spooled ? spooled.request : limitBody(request, maxBodyBytes, options.budget)
      return await handle(req, request)
    } finally {
      await spooled?.dispose()
      options.budget?.close(request)
    }
  }

  function handle(req: Request, request: Request): Promise<Response> {
    return fetchRequestHandler({
      endpoint,
      req,
      router,
      createContext: ({ req }): RequestContext => {
        const ip = options.ipOf(request)
        return ip ? { headers: req.headers, ip } : { headers: req.headers }
      },
      responseMeta: ({ errors }) => {
        const limited = errors.find((e) => isDarkroomError(e.cause) && e.cause.retryAfterMs)
        const retryAfterMs = limited && isDarkroomError(limited.cause) && limited.cause.retryAfterMs
        if (retryAfterMs) {
          return {
            headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
          }
        }
        // The body budget was full (a body without a length, cut off while it arrived).
        const busy = errors.some((e) => e.code === 'SERVICE_UNAVAILABLE')
        return busy ? { headers: { 'Retry-After': '1' } } : {}
      },
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR') {
          logger.error({ err: error.cause ?? error, path }, 'tRPC procedure failed')
        }
      },
    })
  }
}

function isMultipart(request: Request): boolean {
  return (
    request.method === 'POST' &&
    /^multipart\/form-data\s*;/i.test(request.headers.get('content-type') ?? '')
  )
}

/**
 * A multipart request as tRPC sees it: its `formData()` receives the body file by file into
 * temporary files (never whole in memory) and answers a FormData whose files are those files
 * on disk (`path` set, so core ingests them from there). tRPC asks for the form only when the
 * procedure parses its input, after authentication and the rate limit: a refused request is
 * never read. The files are removed when the request is answered.
 */
class SpooledForm {
  readonly request: Request
  #received: ReceivedForm | null = null

  constructor(original: Request, receive: (request: Request) => Promise<ReceivedForm>) {
    this.request = new Request(original.url, {
      method: 'POST',
      headers: original.headers,
      signal: original.signal,
    })
    Object.defineProperty(this.request, 'formData', {
      value: async (): Promise<FormData> => {
        try {
          this.#received = await receive(original)
        } catch (error) {
          throw asTrpcError(error)
        }
        return toFormData(this.#received)
      },
    })
  }

  async dispose(): Promise<void> {
    await this.#received?.dispose()
  }
}

/**
 * The received form as a FormData; each file a `File` over its temporary file, with `path`
 * (where core reads it) and `size` (what the client sent: over the limit, more than was kept).
 */
async function toFormData(form: ReceivedForm): Promise<FormData> {
  const out = new FormData()
  for (const [name, value] of form.fields) out.append(name, value)
  for (const received of form.files) {
    const blob = await openAsBlob(received.path, { type: received.mimeType })
    const file = new File([blob], received.filename, { type: received.mimeType })
    Object.defineProperties(file, {
      path: { value: received.path, enumerable: true },
      size: { value: received.size, enumerable: true },
    })
    out.append(received.field, file)
  }
  return out
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

/**
 * A body the budget refused before reading it (413 or 503), in tRPC's error shape; the
 * connection closes after it, since the body is left unread.
 */
function refusedUnread(router: AppRouter, error: unknown, url: URL): Response {
  if (!(error instanceof HttpProblem)) throw error
  const code = error.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'SERVICE_UNAVAILABLE'
  const shape = getTRPCErrorShape({
    config: router._def._config,
    error: new TRPCError({ code, message: error.message }),
    type: 'unknown',
    path: undefined,
    input: undefined,
    ctx: undefined,
  })
  // A batch gets one error per call, as tRPC answers it.
  const calls = url.pathname.slice(url.pathname.lastIndexOf('/') + 1).split(',').length
  const body =
    url.searchParams.get('batch') === '1' ? Array(calls).fill({ error: shape }) : { error: shape }
  return json(error.status, body, { ...error.headers, Connection: 'close' })
}

/**
 * The HTTP layer's own refusal of a body (the body budget's 503) in tRPC's words; anything else
 * as it is (a `DarkroomError` is mapped by the router's middleware).
 */
function asTrpcError(error: unknown): unknown {
  if (error instanceof HttpProblem && error.status === 503) {
    return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: error.message })
  }
  return error
}

/**
 * The request, with a body that fails with `PAYLOAD_TOO_LARGE` past `maxBytes`, its bytes
 * counted against `budget`.
 */
function limitBody(request: Request, maxBytes: number, budget?: BodyBudget): Request {
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
          if (seen > maxBytes) return controller.error(tooLarge())
          try {
            budget?.count(request, seen)
          } catch (error) {
            return controller.error(asTrpcError(error))
          }
          controller.enqueue(chunk)
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
