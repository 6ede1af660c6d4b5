import { DarkroomError, ERROR_CODES, isDarkroomError, type DarkroomErrorCode } from '@darkroom/core'
import { makeCaller, MemoryServerStore } from '@darkroom/core/testing'
import { TRPCError } from '@trpc/server'
import { getHTTPStatusCodeFromError } from '@trpc/server/http'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { TRPC_ERROR_CODE_OF, mapError } from './errors.js'
import { failure, jpeg, makeHarness, uploadForm } from './internal/harness.test-utils.js'
import { strictObject } from './schemas/common.js'

const STATUS: Record<DarkroomErrorCode, number> = {
  NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  VALIDATION: 422,
  CAP_EXCEEDED: 400,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
}

describe('the code table', () => {
  it.each(ERROR_CODES)('%s maps to its tRPC code and HTTP status', (code) => {
    const mapped = mapError(
      new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: new DarkroomError(code, 'm') }),
    )
    expect(mapped.code).toBe(TRPC_ERROR_CODE_OF[code])
    expect(getHTTPStatusCodeFromError(mapped)).toBe(STATUS[code])
    expect(mapped.message).toBe('m')
  })

  it('leaves other errors alone, and an output-schema failure stays internal', () => {
    const internal = new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: new Error('boom') })
    expect(mapError(internal)).toBe(internal)
    const output = new TRPCError({
      code: 'INTERNAL_SERVER_ERROR',
      message: 'Output validation failed',
      cause: { issues: [{ message: 'bad', path: ['x'] }] },
    })
    expect(mapError(output)).toBe(output)
  })
})

describe('schema issues as violations', () => {
  const schema = strictObject({
    title: z.string(),
    items: z.array(strictObject({ name: z.string(), size: z.number().optional() })),
  })
  const violationsOf = (input: unknown) => {
    const result = schema.safeParse(input)
    const mapped = mapError(new TRPCError({ code: 'BAD_REQUEST', cause: result.error }), input)
    expect(isDarkroomError(mapped.cause) && mapped.cause.code).toBe('VALIDATION')
    return (mapped.cause as DarkroomError).violations
  }

  it('names an unknown key at any depth by its path, one violation per key', () => {
    const input = { title: 't', items: [{ name: 'a' }, { name: 'b', sise: 1, tag: 'x' }], x: 1 }
    expect(violationsOf(input)).toEqual([
      {
        property: 'items[1].sise',
        message: 'Unknown key "sise". Allowed: name, size.',
        reason: 'unrecognized_keys',
      },
      {
        property: 'items[1].tag',
        message: 'Unknown key "tag". Allowed: name, size.',
        reason: 'unrecognized_keys',
      },
      {
        property: 'x',
        message: 'Unknown key "x". Allowed: title, items.',
        reason: 'unrecognized_keys',
      },
    ])
  })

  it('tells a missing key from a wrong type, at any depth', () => {
    expect(violationsOf({ items: [{ name: 3 }, {}] })).toEqual([
      { property: 'title', message: 'title is required.', reason: 'invalid_type' },
      {
        property: 'items[0].name',
        message: 'items[0].name: expected a string, received number',
        reason: 'invalid_type',
      },
      { property: 'items[1].name', message: 'items[1].name is required.', reason: 'invalid_type' },
    ])
    expect(violationsOf(null)).toEqual([
      {
        property: 'input',
        message: 'input: expected an object, received null',
        reason: 'invalid_type',
      },
    ])
  })
})

describe('each code through the router', () => {
  it('NOT_FOUND: 404 with darkroom.code', async () => {
    const h = await makeHarness()
    const { error, shape } = await failure(h, h.alice.photos.get({ id: 'nope' }))
    expect(error.code).toBe('NOT_FOUND')
    expect(shape).toEqual({
      message: 'Photo "nope" was not found.',
      code: -32004,
      data: {
        code: 'NOT_FOUND',
        httpStatus: 404,
        path: 'test',
        darkroom: { code: 'NOT_FOUND', violations: [], cap: null },
      },
    })
  })

  it('UNAUTHORIZED: no caller', async () => {
    const h = await makeHarness()
    const { error, shape } = await failure(h, h.anonymous.albums.list())
    expect(error.code).toBe('UNAUTHORIZED')
    expect(shape.data).toMatchObject({ httpStatus: 401, darkroom: { code: 'UNAUTHORIZED' } })
  })

  it('FORBIDDEN: a read-only caller cannot write', async () => {
    const h = await makeHarness()
    const reader = h.as(makeCaller('alice', ['photos.read']))
    const { error, shape } = await failure(h, reader.albums.create({ title: 'x' }))
    expect(error.code).toBe('FORBIDDEN')
    expect(shape.message).toContain('photos.write')
    expect(shape.data).toMatchObject({ httpStatus: 403, darkroom: { code: 'FORBIDDEN' } })
  })

  it('VALIDATION from core: 422 with violations', async () => {
    const h = await makeHarness()
    const { error, shape } = await failure(
      h,
      h.alice.photos.reorder({ id: 'a', before: 'b', after: 'c' }),
    )
    expect(error.code).toBe('UNPROCESSABLE_CONTENT')
    expect(shape.data.httpStatus).toBe(422)
    expect(shape.data.darkroom).toEqual({
      code: 'VALIDATION',
      violations: [{ property: 'before', message: 'Give exactly one of before or after.' }],
      cap: null,
    })
  })

  it('VALIDATION from the input schema: 422 with one violation per issue', async () => {
    const h = await makeHarness()
    const { error, shape } = await failure(
      h,
      h.alice.photos.list({ limit: 500, sort: 'nope' as never }),
    )
    expect(error.code).toBe('UNPROCESSABLE_CONTENT')
    expect(shape.data.darkroom?.code).toBe('VALIDATION')
    expect(shape.data.darkroom?.violations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          property: 'limit',
          message: 'The limit is a whole number from 1 to 200.',
        }),
        expect.objectContaining({ property: 'sort' }),
      ]),
    )
    const many = await failure(
      h,
      h.alice.photos.getMany({ ids: Array.from({ length: 201 }, (_, i) => `id-${i}`) }),
    )
    expect(many.shape.data.darkroom?.violations).toEqual([
      expect.objectContaining({ property: 'ids', message: 'At most 200 ids at once.' }),
    ])
  })

  it('CAP_EXCEEDED: 400 naming the cap', async () => {
    const h = await makeHarness()
    const album = await h.alice.albums.create({ title: 'Tiny', photoCap: 1 })
    const form = uploadForm(
      [
        { name: 'a.jpg', bytes: await jpeg() },
        { name: 'b.jpg', bytes: await jpeg() },
      ],
      { albumId: album.id },
    )
    const { error, shape } = await failure(h, h.alice.photos.upload(form))
    expect(error.code).toBe('BAD_REQUEST')
    expect(shape.data.httpStatus).toBe(400)
    expect(shape.data.darkroom).toMatchObject({
      code: 'CAP_EXCEEDED',
      cap: { name: 'photoCap', limit: 1 },
    })
  })

  it('CONFLICT: 409 moving a photo where its bytes already are', async () => {
    const h = await makeHarness()
    const album = await h.alice.albums.create({ title: 'A' })
    const bytes = await jpeg()
    await h.alice.photos.upload(uploadForm([{ name: 'x.jpg', bytes }], { albumId: album.id }))
    const loose = await h.alice.photos.upload(uploadForm([{ name: 'x.jpg', bytes }]))
    const { error, shape } = await failure(
      h,
      h.alice.photos.move({ id: loose.uploaded[0]!.id, albumId: album.id }),
    )
    expect(error.code).toBe('CONFLICT')
    expect(shape.data).toMatchObject({ httpStatus: 409, darkroom: { code: 'CONFLICT' } })
  })

  it('PAYLOAD_TOO_LARGE: 413 with the size violation', async () => {
    const h = await makeHarness({}, { config: { limits: { maxFileBytes: 1024 * 1024 } } })
    const big = await jpeg({ width: 1500, height: 1500 })
    const bytes = new Uint8Array(2.14 * 1024 * 1024)
    bytes.set(big)
    const { error, shape } = await failure(
      h,
      h.alice.photos.upload(uploadForm([{ name: 'big.jpg', bytes }])),
    )
    expect(error.code).toBe('PAYLOAD_TOO_LARGE')
    expect(shape.data.httpStatus).toBe(413)
    expect(shape.data.darkroom?.violations).toEqual([
      expect.objectContaining({
        property: 'file',
        message: expect.stringMatching(
          /^The file is too large \(.*\)\. Allowed maximum size is 1 MB\.$/,
        ),
      }),
    ])
  })

  it('an unexpected error is a 500 saying nothing internal', async () => {
    const serverStore = new MemoryServerStore()
    serverStore.getUpload = async () => {
      const error = new Error('SQLITE_ERROR: no such table: uploads (select * from /srv/x.db)')
      throw error
    }
    const h = await makeHarness({ serverStore })
    const { error, shape } = await failure(h, h.alice.uploads.status({ id: 'u1' }))
    expect(error.code).toBe('INTERNAL_SERVER_ERROR')
    expect(shape).toEqual({
      message: 'Internal server error.',
      code: -32603,
      data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500, path: 'test', darkroom: null },
    })
    expect(JSON.stringify(shape)).not.toMatch(/SQLITE|srv|stack|at /)
  })

  it('never includes a stack, even for Darkroom errors', async () => {
    const h = await makeHarness()
    const { shape } = await failure(h, h.alice.photos.get({ id: 'nope' }))
    expect(JSON.stringify(shape)).not.toContain('stack')
  })
})
