import { fileURLToPath } from 'node:url'
import { makeTestDarkroom, MemoryServerStore } from '@darkroom/core/testing'
import { createAppRouter } from '@darkroom/trpc'
import openapiTS, { astToString, COMMENT_HEADER, type OpenAPI3 } from 'openapi-typescript'
import { format, resolveConfig } from 'prettier'
import ts from 'typescript'
import { buildOpenApiDocument, type OpenApiDocument } from '../openapi.js'

const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier('Blob'))

/**
 * The REST twin's OpenAPI document as the handler serves it by default (at the root, no guest
 * uploads), over a router of the in-memory engine: the schemas do not depend on the engine.
 */
export async function defaultOpenApiDocument(): Promise<OpenApiDocument> {
  const { darkroom } = await makeTestDarkroom()
  try {
    const router = createAppRouter(darkroom, { serverStore: new MemoryServerStore() })
    return buildOpenApiDocument(router, { basePath: '', guestUploads: false })
  } finally {
    await darkroom.close()
  }
}

/**
 * `openapi.d.ts`: the `paths` types `openapi-typescript` makes of the default document, in the
 * repo's format. `openapi.test.ts` compares the committed file with a fresh one;
 * `npm run generate:openapi` (in packages/http) writes it.
 */
export async function generateOpenApiTypes(): Promise<string> {
  const document = await defaultOpenApiDocument()
  const ast = await openapiTS(document as unknown as OpenAPI3, {
    // A file part is a Blob (a File with its name) to the client, not a string.
    transform: (schema) => (schema.format === 'binary' ? BLOB : undefined),
  })
  const file = fileURLToPath(new URL('./openapi.d.ts', import.meta.url))
  return format(COMMENT_HEADER + astToString(ast), {
    ...(await resolveConfig(file)),
    filepath: file,
  })
}
