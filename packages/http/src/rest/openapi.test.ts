import { Validator } from '@seriousme/openapi-schema-validator'
import { makeTestDarkroom, MemoryServerStore } from '@darkroom/core/testing'
import { createAppRouter } from '@darkroom/trpc'
import { describe, expect, it } from 'vitest'
import { buildOpenApiDocument } from './openapi.js'
import { REST_OPERATIONS, REST_PREFIX, operationIdOf } from './operations.js'
import { procedurePaths } from './procedures.js'
import { defaultOpenApiDocument, generateOpenApiTypes } from './testing/openapi-types.js'

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator)', async () => {
    const validator = new Validator()
    const result = await validator.validate(await defaultOpenApiDocument())
    expect(result.errors).toBeUndefined()
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
  })

  it('has every operation of the table, by procedure name, and the table every procedure', async () => {
    const document = await defaultOpenApiDocument()
    const listed = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item).map(
        ([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId}`,
      ),
    )
    expect(listed.sort()).toEqual(
      REST_OPERATIONS.map((op) => `${op.method} ${op.path} ${operationIdOf(op.procedure)}`).sort(),
    )
    const { darkroom } = await makeTestDarkroom()
    const router = createAppRouter(darkroom, { serverStore: new MemoryServerStore() })
    // A procedure added to the router needs its line in operations.ts.
    expect(REST_OPERATIONS.map((op) => op.procedure).sort()).toEqual(procedurePaths(router).sort())
    await darkroom.close()
  })

  it('describes inputs, outputs, statuses and errors from the router’s schemas', async () => {
    const document = await defaultOpenApiDocument()
    expect(document.servers).toEqual([{ url: REST_PREFIX }])
    const list = document.paths['/photos']!.get!
    expect(list.tags).toEqual(['photos'])
    const parameters = list.parameters as { name: string; in: string; schema: unknown }[]
    expect(parameters.find((p) => p.name === 'limit')).toMatchObject({
      in: 'query',
      schema: { type: 'integer', minimum: 1, maximum: 200 },
    })
    expect(parameters.find((p) => p.name === 'sort')?.schema).toMatchObject({
      enum: expect.arrayContaining(['taken', 'position']),
    })
    const responses = list.responses as Record<string, unknown>
    expect(responses['200']).toMatchObject({
      content: { 'application/json': { schema: { properties: { nextCursor: {} } } } },
    })
    for (const status of ['400', '401', '403', '404', '409', '413', '422', '429', '500']) {
      expect(responses[status]).toEqual({ $ref: `#/components/responses/Error${status}` })
    }
    const remove = document.paths['/photos/{id}']!.delete!
    expect(Object.keys(remove.responses as object)).toContain('204')
    const upload = document.paths['/photos']!.post!
    expect(Object.keys(upload.responses as object)).toEqual(
      expect.arrayContaining(['201', '200', '413', '415']),
    )
    const form = (upload.requestBody as any).content['multipart/form-data'].schema
    expect(Object.keys(form.properties)).toEqual(
      expect.arrayContaining(['files', 'file', 'image', 'photos', 'albumId', 'pending', 'postId']),
    )
    expect(upload.security).toBeUndefined()
    const patch = document.paths['/photos/{id}']!.patch!
    const body = (patch.requestBody as any).content['application/json'].schema
    expect(body.properties.id).toBeUndefined()
    expect(body.properties.description).toMatchObject({ type: 'string', maxLength: 10000 })
    expect((document.components as any).securitySchemes.apiKey).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    })
  })

  it('follows the base path and guest uploads', async () => {
    const { darkroom } = await makeTestDarkroom()
    const router = createAppRouter(darkroom, { serverStore: new MemoryServerStore() })
    const document = buildOpenApiDocument(router, { basePath: '/media', guestUploads: true })
    expect(document.servers).toEqual([{ url: `/media${REST_PREFIX}` }])
    expect(document.paths['/photos']!.post!.security).toEqual([{ apiKey: [] }, {}])
    await darkroom.close()
  })

  it('openapi.d.ts is what openapi-typescript makes of it now (npm run generate:openapi)', async () => {
    await expect(await generateOpenApiTypes()).toMatchFileSnapshot('./testing/openapi.d.ts')
  })
})
