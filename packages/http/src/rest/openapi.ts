import type { DarkroomErrorCode } from '@darkroom/core'
import type { AppRouter } from '@darkroom/trpc'
import { z } from 'zod'
import { STATUS_BY_CODE, type ErrorBody } from '../errors.js'
import { toJsonSchema, typesOf, type JsonSchema } from './json-schema.js'
import {
  REST_OPERATIONS,
  REST_PREFIX,
  operationIdOf,
  pathKeysOf,
  type RestOperation,
  type SuccessStatus,
} from './operations.js'
import { schemasOf } from './procedures.js'
import { UPLOAD_FILE_FIELDS } from './upload.js'

/**
 * The OpenAPI 3.1 document of the REST twin, generated from the operation table and the
 * router's own zod schemas (JSON Schema 2020-12 is OpenAPI 3.1's dialect, so each schema goes in
 * as zod writes it). Nothing in it is written twice: a new procedure, field or limit in the
 * router shows up here as it does in the twin. The multipart upload is described from the
 * fields `photos.upload` parses (its input is a `FormData`, which JSON Schema cannot say).
 */

export interface OpenApiOptions {
  /** The handler's base path: '' or `/media`. */
  basePath: string
  /** Anonymous uploads are on: the upload needs no key. */
  guestUploads: boolean
}

export type OpenApiDocument = Record<string, unknown> & {
  openapi: string
  paths: Record<string, Record<string, OpenApiOperation>>
}

export interface OpenApiOperation {
  operationId: string
  tags: string[]
  summary: string
  [key: string]: unknown
}

/** The error body every failure answers with (`ErrorBody`), as a schema. */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    violations: z
      .array(z.object({ property: z.string(), message: z.string(), reason: z.string().optional() }))
      .optional(),
    cap: z
      .object({
        name: z.string(),
        limit: z.number(),
        current: z.number().optional(),
        requested: z.number().optional(),
      })
      .optional(),
    retryAfterSec: z.number().optional(),
  }),
})

type Mirrors<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const mirrors: Mirrors<z.output<typeof errorBodySchema>, ErrorBody> = true
void mirrors

/** What each Darkroom code means for a client; exhaustive, like `STATUS_BY_CODE`. */
const CODE_MEANING: Record<DarkroomErrorCode, string> = {
  NOT_FOUND: '`NOT_FOUND`: no such item, or it is not yours (the same answer either way).',
  UNAUTHORIZED: '`UNAUTHORIZED`: no API key, or one that is not valid.',
  FORBIDDEN: '`FORBIDDEN`: the key lacks the scope this needs.',
  VALIDATION:
    '`VALIDATION`: the input broke a rule; `violations` names each property (an unknown key too).',
  CAP_EXCEEDED: '`CAP_EXCEEDED`: over an album cap, a quota or the batch size; `cap` names it.',
  CONFLICT: '`CONFLICT`: the change clashes with the current state.',
  PAYLOAD_TOO_LARGE: '`PAYLOAD_TOO_LARGE`: the body (over 1 MiB of JSON) or the file is too large.',
  RATE_LIMITED: '`RATE_LIMITED`: too many uploads; retry after `Retry-After` seconds.',
}

/** The HTTP layer's own codes, beside Darkroom's. */
const HTTP_MEANING: Record<number, string> = {
  400: '`BAD_REQUEST`: the body is not valid JSON, or the multipart body is malformed.',
  415: '`UNSUPPORTED_MEDIA_TYPE`: the upload is not `multipart/form-data`.',
  500: '`INTERNAL_SERVER_ERROR`: an unexpected failure (logged by the server; no detail here).',
}

/**
 * The document the handler serves at `/api/openapi.json`, for a build step or another server.
 *
 * @example
 * const handler = createDarkroomHandler({ darkroom, serverStore, signingSecret, dataDir })
 * const document = buildOpenApiDocument(handler.router, { basePath: '', guestUploads: false })
 * await writeFile('openapi.json', JSON.stringify(document, null, 2))
 */
export function buildOpenApiDocument(router: AppRouter, options: OpenApiOptions): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {}
  const tags: string[] = []
  for (const op of REST_OPERATIONS) {
    const tag = op.procedure.split('.')[0]!
    if (!tags.includes(tag)) tags.push(tag)
    const item = (paths[op.path] ??= {})
    item[op.method.toLowerCase()] = operationOf(router, op, tag, options)
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Darkroom REST API',
      version: '1',
      description: [
        "The REST twin of Darkroom's tRPC API: every procedure, from the same schemas, with",
        'conventional verbs and statuses (201 on create, 204 on delete). Authenticate with an API',
        'key, `Authorization: Bearer sk_...`. Every failure answers',
        '`{ "error": { "code", "message", "violations"?, "cap"? } }` with its status. Inputs are',
        'strict: an unknown key is a 422 naming it, never ignored.',
      ].join(' '),
    },
    servers: [{ url: `${options.basePath}${REST_PREFIX}` }],
    tags: tags.map((name) => ({ name })),
    security: [{ apiKey: [] }],
    paths,
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'sk_...',
          description: 'A Darkroom API key (`sk_...`) with the scopes the operation needs.',
        },
      },
      schemas: { Error: toJsonSchema(errorBodySchema, 'output') },
      responses: Object.fromEntries(
        errorStatuses(true).map((status) => [
          errorRef(status),
          {
            description: meaningOf(status),
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
        ]),
      ),
    },
  }
}

function operationOf(
  router: AppRouter,
  op: RestOperation,
  tag: string,
  options: OpenApiOptions,
): OpenApiOperation {
  const schemas = schemasOf(router, op.procedure)
  const input = schemas.input ? toJsonSchema(schemas.input, 'input') : null
  const output = schemas.output ? toJsonSchema(schemas.output, 'output') : {}
  const pathKeys = pathKeysOf(op.path)
  const properties = input?.properties ?? {}
  const required = input?.required ?? []

  const parameters: Record<string, unknown>[] = pathKeys.map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: properties[name] ?? { type: 'string' },
  }))
  if (op.input === 'query') {
    for (const [name, schema] of Object.entries(properties)) {
      if (pathKeys.includes(name)) continue
      const types = typesOf(schema)
      parameters.push({
        name,
        in: 'query',
        required: required.includes(name),
        schema,
        ...(types.has('array') ? { style: 'form', explode: true } : {}),
        ...(types.has('null') ? { description: 'An empty value means null.' } : {}),
      })
    }
  }

  const operation: OpenApiOperation = {
    operationId: operationIdOf(op.procedure),
    tags: [tag],
    summary: op.summary,
    description: `The tRPC procedure \`${op.procedure}\`, over REST.`,
  }
  if (parameters.length > 0) operation.parameters = parameters
  if (op.input === 'body' && input) {
    const body = withoutKeys(input, pathKeys)
    operation.requestBody = {
      required: (body.required ?? []).length > 0,
      content: { 'application/json': { schema: body } },
    }
  }
  if (op.input === 'multipart') {
    if (!schemas.input) throw new TypeError(`REST twin: ${op.procedure} has no input`)
    operation.requestBody = {
      required: true,
      content: { 'multipart/form-data': { schema: multipartSchema(schemas.input) } },
    }
    if (options.guestUploads) operation.security = [{ apiKey: [] }, {}]
  }

  const responses: Record<string, unknown> = {}
  const success = (status: SuccessStatus, description: string) =>
    status === 204
      ? { description }
      : { description, content: { 'application/json': { schema: output } } }
  responses[String(op.status)] = success(op.status, 'Done.')
  if (op.otherwise) {
    responses[String(op.otherwise.status)] = success(op.otherwise.status, op.otherwise.description)
  }
  for (const status of errorStatuses(op.input === 'multipart')) {
    responses[String(status)] = { $ref: `#/components/responses/${errorRef(status)}` }
  }
  operation.responses = responses
  return operation
}

/**
 * The upload form: the text fields `photos.upload` parses (the object its `FormData` input is
 * piped into), and the files, in `files` or any field the seeds use.
 */
function multipartSchema(input: z.ZodType): JsonSchema {
  const fields = (input as { out?: unknown }).out
  if (!(fields instanceof Object) || !('_zod' in fields)) {
    throw new TypeError('REST twin: photos.upload no longer pipes its FormData into an object')
  }
  const schema = toJsonSchema(fields as z.ZodType, 'input')
  const binary = { type: 'string', format: 'binary', contentMediaType: 'application/octet-stream' }
  const properties: Record<string, JsonSchema> = {}
  for (const field of UPLOAD_FILE_FIELDS) {
    properties[field] = {
      type: 'array',
      items: binary,
      description:
        field === 'files'
          ? 'The photos, one part each (a filename on each part). At least one file in all.'
          : 'Also taken as files (the seed APIs send their files in this field).',
    }
  }
  for (const [name, value] of Object.entries(schema.properties ?? {})) {
    if (name !== 'files') properties[name] = value
  }
  const out: JsonSchema = { ...schema, type: 'object', properties }
  delete out.required
  return out
}

/** An input schema without the keys the path gives. */
function withoutKeys(schema: JsonSchema, keys: readonly string[]): JsonSchema {
  const properties = Object.fromEntries(
    Object.entries(schema.properties ?? {}).filter(([name]) => !keys.includes(name)),
  )
  const required = (schema.required ?? []).filter((name) => !keys.includes(name))
  const out: JsonSchema = { ...schema, properties }
  if (required.length > 0) out.required = required
  else delete out.required
  return out
}

/** Every status an operation may fail with: the mapped codes' and the HTTP layer's own. */
function errorStatuses(multipart: boolean): number[] {
  const statuses = new Set<number>([...Object.values(STATUS_BY_CODE), 400, 500])
  if (multipart) statuses.add(415)
  return [...statuses].sort((a, b) => a - b)
}

function errorRef(status: number): string {
  return `Error${status}`
}

function meaningOf(status: number): string {
  const codes = (Object.keys(STATUS_BY_CODE) as DarkroomErrorCode[]).filter(
    (code) => STATUS_BY_CODE[code] === status,
  )
  return [...codes.map((code) => CODE_MEANING[code]), HTTP_MEANING[status]]
    .filter((line): line is string => line !== undefined)
    .join(' ')
}
