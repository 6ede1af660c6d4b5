import { createHash } from 'node:crypto'
import type { Caller } from '@darkroom/core'
import { makeCaller, makeJpeg, makeTestDarkroom, MemoryServerStore } from '@darkroom/core/testing'
import { getTRPCErrorShape, TRPCError } from '@trpc/server'
import { expect } from 'vitest'
import { createContext, createContextInner } from '../context.js'
import type { DarkroomErrorShape } from '../errors.js'
import { createAppRouter, type AppRouterOptions } from '../routers/app.js'
import { createCallerFactory } from '../trpc.js'

/** A router over the in-memory engine and server store, and callers for alice, bob and admin. */
export async function makeHarness(
  options: Partial<AppRouterOptions> = {},
  darkroomOptions: Parameters<typeof makeTestDarkroom>[0] = {},
) {
  const test = await makeTestDarkroom(darkroomOptions)
  const serverStore = new MemoryServerStore()
  const router = createAppRouter(test.darkroom, { serverStore, clock: test.clock, ...options })
  const factory = createCallerFactory(router)
  const as = (caller: Caller | null) => factory(createContextInner({ caller }))
  const withHeaders = (headers: Record<string, string>) =>
    factory(createContext({ req: { headers: new Headers(headers) } }))
  return {
    ...test,
    serverStore,
    router,
    as,
    withHeaders,
    bearer: (key: string) => withHeaders({ authorization: `Bearer ${key}` }),
    alice: as(makeCaller('alice')),
    bob: as(makeCaller('bob')),
    admin: as(makeCaller('root', ['admin'])),
    anonymous: as(null),
    /** The shape a client would receive for this error, through the router's formatter. */
    shapeOf(error: TRPCError): DarkroomErrorShape {
      return getTRPCErrorShape({
        config: router._def._config,
        error,
        type: 'mutation',
        path: 'test',
        input: undefined,
        ctx: undefined,
      })
    },
  }
}

export type Harness = Awaited<ReturnType<typeof makeHarness>>

/** The TRPCError a call fails with, and its formatted shape. */
export async function failure(
  harness: Pick<Harness, 'shapeOf'>,
  call: Promise<unknown>,
): Promise<{ error: TRPCError; shape: DarkroomErrorShape }> {
  const error = await call.then(
    () => {
      throw new Error('expected the call to fail')
    },
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(TRPCError)
  return { error: error as TRPCError, shape: harness.shapeOf(error as TRPCError) }
}

/** A multipart form as a client sends it: `files` entries plus string fields. */
export function uploadForm(
  files: Array<{ name: string; bytes: Uint8Array }>,
  fields: Record<string, string> = {},
): FormData {
  const form = new FormData()
  for (const f of files) form.append('files', new File([f.bytes], f.name))
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  return form
}

let seed = 0
/** A small JPEG with unique bytes. */
export async function jpeg(options: Parameters<typeof makeJpeg>[0] = {}) {
  return makeJpeg({ seed: ++seed, ...options })
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}
