import {
  DarkroomError,
  type Caller,
  type Clock,
  type Darkroom,
  type IdGenerator,
  type ServerStore,
} from '@darkroom/core'
import { initTRPC } from '@trpc/server'
import type {
  Authenticate,
  Context,
  RequestContext,
  SignImageUrls,
  UploadRateLimit,
} from './context.js'
import { formatError, mapError } from './errors.js'
import { resolveUploadCaller } from './upload-caller.js'

/**
 * The one `initTRPC`. Every procedure starts from `baseProcedure`, whose middleware maps a
 * failure once: a `DarkroomError` (or an input that failed its schema) becomes the mapped
 * `TRPCError`; `formatError` then shapes what the client sees. Procedures never build a
 * `TRPCError` themselves: they call core and let its errors through.
 */
const t = initTRPC.context<RequestContext>().create({ errorFormatter: formatError })

export const router = t.router
export const createCallerFactory = t.createCallerFactory

export const baseProcedure = t.procedure.use(async ({ next, getRawInput }) => {
  const result = await next()
  if (!result.ok) {
    // The raw input (already read, so no cost) lets a failed schema tell missing from wrong.
    const input =
      result.error.code === 'BAD_REQUEST' ? await getRawInput().catch(() => undefined) : undefined
    const mapped = mapError(result.error, input)
    if (mapped !== result.error) throw mapped
  }
  return result
})

/** What `createAppRouter` hands the procedures: the engine, the stores and the policies. */
export interface ProcedureDeps {
  darkroom: Darkroom
  serverStore: ServerStore
  authenticate: Authenticate
  /** Set: an anonymous request may use `photos.upload`, as this owner with `photos.write`. */
  guestUploads: { ownerId: string } | null
  clock: Clock
  ids: IdGenerator
  /** Runs before every upload request; throws `RATE_LIMITED` to refuse it. */
  rateLimit?: UploadRateLimit | null
  /** Mints `photos.signUrls`' URLs; null: the procedure is unavailable (a 500 naming why). */
  signImageUrls?: SignImageUrls | null
}

/**
 * The procedure builders of one router instance:
 * - `public`: `ctx` is the full `Context`, `ctx.caller` may be null;
 * - `authed`: a caller is required (`UNAUTHORIZED` otherwise); scopes are checked by core;
 * - `upload`: as `authed`, except that with guest uploads on an anonymous request becomes the
 *   guest owner with `photos.write` only.
 */
export function createProcedures(deps: ProcedureDeps) {
  // One authentication per request, shared by the calls of a batch.
  const callers = new WeakMap<RequestContext, Promise<Caller | null>>()
  const callerOf = (ctx: RequestContext): Promise<Caller | null> => {
    if (ctx.caller !== undefined) return Promise.resolve(ctx.caller)
    let caller = callers.get(ctx)
    if (!caller) {
      caller = ctx.headers ? deps.authenticate({ headers: ctx.headers }) : Promise.resolve(null)
      callers.set(ctx, caller)
    }
    return caller
  }

  const publicProcedure = baseProcedure.use(async ({ ctx, next }) => {
    const context: Context = {
      darkroom: deps.darkroom,
      serverStore: deps.serverStore,
      caller: await callerOf(ctx),
      clock: deps.clock,
      ids: deps.ids,
    }
    return next({ ctx: context })
  })

  const authedProcedure = publicProcedure.use(({ ctx, next }) => {
    if (!ctx.caller) throw unauthenticated()
    return next({ ctx: { caller: ctx.caller } })
  })

  const uploadProcedure = publicProcedure.use(async ({ ctx, next }) => {
    // Before the input (the multipart body) is parsed: a refused request costs no parsing.
    const caller = await resolveUploadCaller(deps, {
      caller: ctx.caller,
      headers: ctx.headers,
      ip: ctx.ip,
    })
    return next({ ctx: { caller } })
  })

  /**
   * For a procedure that adds a photo without uploading one (`photos.move` with `copy`): takes
   * a token of the upload rate limit, as an upload request would, or throws `RATE_LIMITED`.
   */
  const limitAsUpload = async (ctx: RequestContext & { caller: Caller }): Promise<void> => {
    await deps.rateLimit?.({ caller: ctx.caller, guest: false, headers: ctx.headers, ip: ctx.ip })
  }

  return {
    public: publicProcedure,
    authed: authedProcedure,
    upload: uploadProcedure,
    limitAsUpload,
    signImageUrls: deps.signImageUrls ?? null,
  }
}

export type Procedures = ReturnType<typeof createProcedures>

function unauthenticated(): DarkroomError {
  return new DarkroomError('UNAUTHORIZED', 'Authentication is required.')
}
