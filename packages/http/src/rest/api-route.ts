import { DarkroomError, isDarkroomError, type Darkroom, type Violation } from '@darkroom/core'
import type { AppRouter, Authenticate, RequestContext, UploadPolicy } from '@darkroom/trpc'
import { TRPCError } from '@trpc/server'
import { getHTTPStatusCodeFromError } from '@trpc/server/http'
import { readJson } from '../api/json-body.js'
import type { BodyBudget } from '../api/body-budget.js'
import type { ReceivedForm } from '../api/multipart.js'
import { createRouteTable, type Method } from '../api/route-table.js'
import { HttpProblem } from '../errors.js'
import { empty, errorResponse, json } from '../internal/responses.js'
import type { Logger } from '../logger.js'
import { notFound, type Route } from '../router.js'
import { createDocsPage } from './docs-page.js'
import { toJsonSchema, type JsonSchema } from './json-schema.js'
import { buildOpenApiDocument, type OpenApiDocument } from './openapi.js'
import { REST_OPERATIONS, REST_PREFIX, pathKeysOf, type RestOperation } from './operations.js'
import { schemasOf } from './procedures.js'
import { queryInput } from './query.js'
import { createUploadOperation } from './upload.js'

/**
 * Everything under `/api` that is Darkroom's own: `GET /api/openapi.json`, the page at
 * `/api/docs`, the REST twin under `REST_PREFIX`, and a JSON 404 (the handler's error body) for
 * any other path, 405 with `Allow` for a known path's other methods. Seed profiles mounted at
 * the root take their own `/api/...` paths first (the handler asks them before this route).
 *
 * Each twin operation builds its procedure's input from the path, the query or a JSON body (see
 * `operations.ts`) and calls the procedure through `router.createCaller` with a context made as
 * the `/trpc` route makes it (the request's headers and address): authentication, scopes, rate
 * limits, validation and the answer's shape are the router's. A failure's cause, a
 * `DarkroomError`, becomes the handler's status and error body (`errors.ts`).
 */

export interface ApiRouteOptions {
  router: AppRouter
  darkroom: Darkroom
  authenticate: Authenticate
  /** The router's upload rules (guest uploads, rate limit), for the multipart upload. */
  uploadPolicy: UploadPolicy
  /** The handler's base path: '' or `/media`. */
  basePath: string
  /** A multipart body with its files in these fields, spooled with the engine's limits. */
  receiveForm(request: Request, fileFields: readonly string[]): Promise<ReceivedForm>
  /** Bytes an uploaded file may have before it is cut short and refused. */
  maxFileBytes: number
  ipOf(request: Request): string | undefined
  /** The handler's budget of bodies in flight, for the JSON bodies read here. */
  budget?: BodyBudget
  logger: Logger
  /** swagger-ui-dist's folder for `/api/docs`; default: found from this package; null: none. */
  swaggerUiDir?: string | null
}

type Handler = (request: Request, params: Record<string, string>, url: URL) => Promise<Response>

export function createApiRoute(options: ApiRouteOptions): Route {
  const { router, basePath, logger } = options
  let document: OpenApiDocument | undefined
  const documentOf = () =>
    (document ??= buildOpenApiDocument(router, {
      basePath,
      guestUploads: options.uploadPolicy.guestUploads !== null,
    }))
  const docs = createDocsPage({
    pagePath: `${basePath}/api/docs`,
    documentPath: `${basePath}/api/openapi.json`,
    document: documentOf,
    ...(options.swaggerUiDir !== undefined ? { swaggerUiDir: options.swaggerUiDir } : {}),
  })

  const table = createRouteTable<Handler>([
    { method: 'GET', path: '/api/openapi.json', handle: async () => json(200, documentOf()) },
    { method: 'GET', path: '/api/docs', handle: async (request) => docs.page(request) },
    {
      method: 'GET',
      path: '/api/docs/:name',
      handle: (request, params) => docs.asset(request, params.name!),
    },
    ...REST_OPERATIONS.map((op) => ({
      method: op.method,
      path: REST_PREFIX + op.path.replace(/\{([^}]+)\}/g, ':$1'),
      handle: operationHandler(op, options),
    })),
  ])

  return async (request, path, url) => {
    try {
      const match = table.match(request.method, path)
      if (!match) throw notFound()
      if (match.kind === 'method') throw methodNotAllowed(match.allow)
      return await match.handle(request, match.params, url)
    } catch (error) {
      // A 413 (a body refused unread) closes the connection: see the handler.
      return errorResponse(restError(error), logger)
    }
  }
}

function operationHandler(op: RestOperation, options: ApiRouteOptions): Handler {
  const schemas = schemasOf(options.router, op.procedure)
  const pathKeys = pathKeysOf(op.path)
  const respond = (input: Record<string, unknown>, output: unknown) => {
    const status = op.otherwise?.when(input, output) ? op.otherwise.status : op.status
    return status === 204 ? empty(204) : json(status, output)
  }

  if (op.input === 'multipart') {
    if (!schemas.input || !schemas.output) {
      throw new TypeError(`REST twin: ${op.procedure} has no input or output parser`)
    }
    const upload = createUploadOperation({
      darkroom: options.darkroom,
      authenticate: options.authenticate,
      policy: options.uploadPolicy,
      input: schemas.input,
      output: schemas.output,
      receiveForm: options.receiveForm,
      maxFileBytes: options.maxFileBytes,
      ipOf: options.ipOf,
    })
    return async (request) => {
      const { input, output } = await upload(request)
      return respond(input, output)
    }
  }

  const inputSchema: JsonSchema | null = schemas.input ? toJsonSchema(schemas.input, 'input') : null
  const where = `${op.method} ${REST_PREFIX}${op.path}`
  return async (request, params, url) => {
    let fields: Record<string, unknown>
    if (op.input === 'query') {
      if ((await readJson(request, undefined, options.budget)) !== undefined) {
        throw invalid([
          {
            property: 'body',
            message: `${where} takes its input in the query string, not in a body.`,
            reason: 'unexpected_body',
          },
        ])
      }
      fields = queryInput(url.searchParams, inputSchema, pathKeys)
    } else {
      const body = await readJson(request, undefined, options.budget)
      refuseQuery(url, where)
      fields = bodyFields(body, pathKeys, inputSchema !== null, where)
    }
    const input: Record<string, unknown> = { ...fields, ...params }
    const ip = options.ipOf(request)
    const ctx: RequestContext = ip ? { headers: request.headers, ip } : { headers: request.headers }
    const output = await callProcedure(
      options.router,
      ctx,
      op.procedure,
      schemas.input ? input : undefined,
    )
    return respond(input, output)
  }
}

/** `router.createCaller(ctx)`'s procedure at a dotted path, called with `input`. */
async function callProcedure(
  router: AppRouter,
  ctx: RequestContext,
  path: string,
  input: unknown,
): Promise<unknown> {
  let target: unknown = router.createCaller(ctx)
  for (const segment of path.split('.')) target = (target as Record<string, unknown>)[segment]
  return (target as (input: unknown) => Promise<unknown>)(input)
}

/** A JSON body's keys, refused when it is not an object or repeats a key of the path. */
function bodyFields(
  body: unknown,
  pathKeys: readonly string[],
  takesInput: boolean,
  where: string,
): Record<string, unknown> {
  if (body === undefined) return {}
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid([
      { property: 'body', message: 'The body is a JSON object.', reason: 'invalid_type' },
    ])
  }
  const violations: Violation[] = []
  const keys = Object.keys(body)
  if (!takesInput && keys.length > 0) {
    violations.push({
      property: 'body',
      message: `${where} takes no input.`,
      reason: 'unexpected_body',
    })
  }
  for (const key of keys.filter((k) => pathKeys.includes(k))) {
    violations.push({
      property: key,
      message: `${key} is taken from the path; leave it out of the body.`,
      reason: 'unrecognized_keys',
    })
  }
  if (violations.length > 0) throw invalid(violations)
  return body as Record<string, unknown>
}

/** Query keys on an operation that reads a body: refused, never ignored. */
function refuseQuery(url: URL, where: string): void {
  const keys = [...new Set(url.searchParams.keys())]
  if (keys.length === 0) return
  throw invalid(
    keys.map((key) => ({
      property: key,
      message: `Unknown key ${JSON.stringify(key)}. ${where} takes its input in a JSON body.`,
      reason: 'unrecognized_keys',
    })),
  )
}

function invalid(violations: Violation[]): DarkroomError {
  return DarkroomError.validation(violations, 'Invalid input.')
}

const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']

function methodNotAllowed(allow: Method[]): HttpProblem {
  const methods = [...new Set(allow.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])))].sort(
    (a, b) => METHOD_ORDER.indexOf(a) - METHOD_ORDER.indexOf(b),
  )
  return new HttpProblem(405, 'METHOD_NOT_ALLOWED', `Use ${methods.join(', ')} on this path.`, {
    Allow: methods.join(', '),
  })
}

/**
 * A procedure's failure as what `errorResponse` maps: its `DarkroomError` cause (the router's
 * middleware puts one on every mapped failure, input validation included); another tRPC error
 * as its own status; an unexpected one as itself (a logged 500).
 */
function restError(error: unknown): unknown {
  if (!(error instanceof TRPCError)) return error
  if (isDarkroomError(error.cause)) return error.cause
  if (error.code === 'INTERNAL_SERVER_ERROR') return error.cause ?? error
  return new HttpProblem(getHTTPStatusCodeFromError(error), error.code, error.message)
}
