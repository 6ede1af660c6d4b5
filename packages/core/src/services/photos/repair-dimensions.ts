import { IMAGE_MIME_TYPES } from '../../config.js'
import { toPhoto } from '../../domain/photo.js'
import type { Caller, PhotoRecord } from '../../domain/types.js'
import { isAdmin, requireScope } from '../../internal/access.js'
import { readAll } from '../../internal/bytes.js'
import type { DarkroomEvent } from '../../ports/event-sink.js'
import type { PhotoPatch } from '../../ports/metadata-store.js'
import type { ServiceContext } from '../context.js'

export interface RepairDimensionsInput {
  /** Only rows whose width or height is missing. */
  onlyMissing?: boolean
  /** Re-read rows whose dimensions were set by hand (`photos.update`) too, and forget that. */
  overrideManual?: boolean
}

export interface RepairResult {
  /** Originals read. */
  scanned: number
  /** Rows whose width, height or orientation changed (one `photo.updated` each). */
  repaired: number
  failed: number
  failures: Array<{ id: string; message: string }>
  /** Rows left as set by hand, not read (pass `overrideManual` to re-read them). */
  keptManual: number
}

const PAGE = 200
/** Whatever was accepted once is re-read, even if the allowed list has shrunk since. */
const REPAIRABLE_TYPES = [...IMAGE_MIME_TYPES]

/**
 * Re-reads width, height and orientation from each stored original's header and fixes the rows
 * where they are missing *or wrong* (an older import, a stale EXIF size). Sizes come from the
 * decoded header, never from EXIF's own size tags. A manual fix (`photos.update` with width and
 * height) is a decision, not an error: it is kept unless `overrideManual` is set. Each repaired
 * photo emits `photo.updated` (`changed`, `reason: 'repair_dimensions'`), a page at a time.
 * Idempotent and stateless: a run interrupted by a restart is simply run again. Admins repair
 * every owner's photos.
 */
export async function repairDimensions(
  ctx: ServiceContext,
  caller: Caller,
  input: RepairDimensionsInput = {},
): Promise<RepairResult> {
  requireScope(caller, 'photos.write')
  // One run at a time per scope: a flood of calls (600 in one tRPC batch) joins the run under
  // way with the same options, or waits for it, instead of each reading every original at once.
  const scope = isAdmin(caller) ? '*' : caller.ownerId
  const runs = runsOf(ctx)
  const key = `${scope}|${input.onlyMissing === true}|${input.overrideManual === true}`
  const same = runs.get(key)
  if (same) return copyResult(await same)
  const before = runs.get(scope)
  const run = (before ?? Promise.resolve())
    .catch(() => undefined)
    .then(() => repairAll(ctx, caller, input))
  const settled = run.finally(() => {
    if (runs.get(key) === run) runs.delete(key)
    if (runs.get(scope) === settled) runs.delete(scope)
  })
  runs.set(key, run)
  runs.set(scope, settled)
  return copyResult(await run)
}

/** The runs under way per engine, by scope (the chain) and by scope and options. */
const RUNS = new WeakMap<ServiceContext, Map<string, Promise<RepairResult>>>()

function runsOf(ctx: ServiceContext): Map<string, Promise<RepairResult>> {
  let runs = RUNS.get(ctx)
  if (!runs) RUNS.set(ctx, (runs = new Map()))
  return runs
}

function copyResult(result: RepairResult): RepairResult {
  return { ...result, failures: result.failures.map((f) => ({ ...f })) }
}

async function repairAll(
  ctx: ServiceContext,
  caller: Caller,
  input: RepairDimensionsInput,
): Promise<RepairResult> {
  const result: RepairResult = { scanned: 0, repaired: 0, failed: 0, failures: [], keptManual: 0 }
  const scope = isAdmin(caller) ? {} : { ownerId: caller.ownerId }
  let afterId: string | undefined
  for (;;) {
    const page = await ctx.store.scanPhotos({
      ...scope,
      ...(afterId ? { afterId } : {}),
      limit: PAGE,
    })
    if (page.length === 0) break
    afterId = page[page.length - 1]!.id
    const events: DarkroomEvent[] = []
    for (const photo of page) {
      if (photo.kind !== 'image') continue
      if (input.onlyMissing && photo.width !== null && photo.height !== null) continue
      if (photo.manualDimensions && !input.overrideManual) {
        result.keptManual++
        continue
      }
      result.scanned++
      try {
        const event = await repairOne(ctx, photo)
        if (event) {
          result.repaired++
          events.push(event)
        }
      } catch (error) {
        result.failed++
        result.failures.push({
          id: photo.id,
          message: error instanceof Error ? error.message : String(error),
        })
      }
    }
    await ctx.events.emit(events)
  }
  return result
}

/** Reads the original's header and writes what differs; the event when something did. */
async function repairOne(ctx: ServiceContext, photo: PhotoRecord): Promise<DarkroomEvent | null> {
  const stream = await ctx.blobs.get(photo.originalKey)
  if (!stream) throw new Error(`the original ${photo.originalKey} is missing`)
  const data = await readAll(stream, Number.MAX_SAFE_INTEGER)
  const probe = await ctx.cpu.run(() =>
    ctx.media.probeImage(data, {
      maxInputPixels: Number.MAX_SAFE_INTEGER,
      allowedMimeTypes: REPAIRABLE_TYPES,
    }),
  )
  const changed = (['width', 'height', 'orientation'] as const).filter(
    (key) => probe[key] !== photo[key],
  )
  if (changed.length === 0) {
    // Overridden and found right: no longer a manual value, nothing visible changed.
    if (photo.manualDimensions) await ctx.store.updatePhoto(photo.id, { manualDimensions: false })
    return null
  }
  const patch: PhotoPatch = {
    width: probe.width,
    height: probe.height,
    orientation: probe.orientation,
    updatedAt: ctx.clock.now(),
  }
  if (photo.manualDimensions) patch.manualDimensions = false
  const after = await ctx.store.updatePhoto(photo.id, patch)
  return ctx.events.make('photo.updated', photo.ownerId, photo.id, {
    photo: toPhoto(after, ctx.config),
    changed,
    reason: 'repair_dimensions',
  })
}
