import { availableParallelism } from 'node:os'
import { configSchema, type DarkroomConfig, type DarkroomConfigInput } from './config.js'
import { DarkroomError, isDarkroomError } from './errors.js'
import type { Album, Caller, Photo } from './domain/types.js'
import { Budget, Limiter, RenderLimiter } from './internal/limit.js'
import type { Media } from './internal/media.js'
import * as defaultMedia from './media/index.js'
import { FfmpegFrameExtractor, FsScratchSpace, LibheifHeifDecoder } from './node/index.js'
import type { BlobStore } from './ports/blob-store.js'
import { systemClock, type Clock } from './ports/clock.js'
import type { DarkroomEventType, EventSink } from './ports/event-sink.js'
import type { FrameExtractor } from './ports/frame-extractor.js'
import type { HeifDecoder } from './ports/heif-decoder.js'
import type { ScratchSpace } from './ports/scratch-space.js'
import { uuidV7Ids, type IdGenerator } from './ports/ids.js'
import { silentLogger, type Logger } from './ports/logger.js'
import type { DarkroomObserver } from './ports/observer.js'
import type { MetadataStore } from './ports/metadata-store.js'
import * as albums from './services/albums/albums.js'
import type { ServiceContext } from './services/context.js'
import { EventBus, type EventListener } from './services/events.js'
import { health } from './services/health.js'
import * as maintenance from './services/maintenance/maintenance.js'
import * as owners from './services/owners.js'
import { bulkDelete, deletePhoto, restore } from './services/photos/delete.js'
import { get, getMany } from './services/photos/get.js'
import { list } from './services/photos/list.js'
import { move } from './services/photos/move.js'
import { listArchive } from './services/photos/list-archive.js'
import { openBlob } from './services/photos/open-blob.js'
import { ownerOf } from './services/photos/owner-of.js'
import { precheck } from './services/photos/precheck.js'
import { transform } from './services/photos/transform.js'
import { listComments, react } from './services/photos/react.js'
import { reorder } from './services/photos/reorder.js'
import { repairDimensions } from './services/photos/repair-dimensions.js'
import { update } from './services/photos/update.js'
import { upload } from './services/photos/upload.js'

export interface DarkroomOptions {
  /** Where records live: `createSqliteStore(...)` from `@darkroom/storage`, or your own adapter. */
  store: MetadataStore
  /** Where bytes live: `createFsBlobStore(...)`, an S3 store, or your own adapter. */
  blobs: BlobStore
  /** Limits, variant presets, formats, features. Validated once; see `configSchema`. */
  config?: DarkroomConfigInput
  /** Receives every committed change (the server's webhook outbox). */
  events?: EventSink
  clock?: Clock
  ids?: IdGenerator
  logger?: Logger
  /** Replaces the image functions (tests, or another pipeline). */
  media?: Partial<Media>
  /** Told how each upload went and how long it took (the server's metrics). */
  observer?: DarkroomObserver
  /**
   * Video probe, integrity check and poster frame. Default: `FfmpegFrameExtractor` (from
   * `@darkroom/core/node`) over `video.ffmpegPath`, `video.ffprobePath` and `video.timeoutMs`.
   */
  frameExtractor?: FrameExtractor
  /** Temp files and local files. Default: `FsScratchSpace` in `video.tempDir` (or the OS's). */
  scratchSpace?: ScratchSpace
  /** HEVC-coded HEIF decoding. Default: `LibheifHeifDecoder` (worker threads). */
  heifDecoder?: HeifDecoder
}

/** What the engine is busy with now. */
export interface DarkroomStats {
  /** Ingest's image work (probe, decode, variants): running, waiting for a slot, and the slots. */
  cpu: { active: number; waiting: number; max: number }
  /** Decode memory of ingest (`limits.ingestMemoryBytes`): bytes taken, files waiting, total. */
  decodeMemory: { used: number; waiting: number; total: number }
  /** On-the-fly renders (`photos.transform`), in their own slots; `started` counts them all. */
  renders: { active: number; waiting: number; max: number; started: number }
}

type Bind<F> = F extends (ctx: ServiceContext, ...args: infer A) => infer R
  ? (...args: A) => R
  : never

export interface Darkroom {
  readonly config: DarkroomConfig
  readonly photos: {
    upload: Bind<typeof upload>
    list: Bind<typeof list>
    get: Bind<typeof get>
    getMany: Bind<typeof getMany>
    update: Bind<typeof update>
    move: Bind<typeof move>
    reorder: Bind<typeof reorder>
    delete: Bind<typeof deletePhoto>
    bulkDelete: Bind<typeof bulkDelete>
    restore: Bind<typeof restore>
    repairDimensions: Bind<typeof repairDimensions>
    react: Bind<typeof react>
    listComments: Bind<typeof listComments>
    openBlob: Bind<typeof openBlob>
    /** An album's entries for a streamed download (`ArchiveListing`), sizes known up front. */
    listArchive: Bind<typeof listArchive>
    precheck: Bind<typeof precheck>
    transform: Bind<typeof transform>
    ownerOf: Bind<typeof ownerOf>
  }
  readonly albums: {
    create: Bind<typeof albums.create>
    list: Bind<typeof albums.list>
    get: Bind<typeof albums.get>
    update: Bind<typeof albums.update>
    delete: Bind<typeof albums.remove>
  }
  readonly owners: {
    me: Bind<typeof owners.me>
    setQuota: Bind<typeof owners.setQuota>
  }
  readonly maintenance: {
    purgePending: Bind<typeof maintenance.purgePending>
    purgeTrash: Bind<typeof maintenance.purgeTrash>
    sweepOrphans: Bind<typeof maintenance.sweepOrphans>
  }
  /** Whether the store and the blob store answer (for a health route). */
  health: Bind<typeof health>
  /** What the engine is busy with now (for metrics); cheap, no I/O. */
  stats(): DarkroomStats
  readonly events: {
    /** Listens to committed changes in this process; returns the unsubscribe function. */
    on(type: DarkroomEventType | '*', listener: EventListener): () => void
  }
  /** Closes the store and the blob store. */
  close(): Promise<void>
}

/**
 * Builds the engine over its ports. Parses the config (throwing `VALIDATION` listing every
 * problem; with `video.enabled`, also when the frame extractor's tools cannot run), brings the
 * store's schema up to date, and returns the services. The ports the options leave out get the
 * Node adapters of `@darkroom/core/node`, so `{ store, blobs }` ingests JPEG, HEIC and video.
 *
 * @example
 * const darkroom = await createDarkroom({
 *   store: createSqliteStore({ filename: './data/darkroom.db' }),
 *   blobs: createFsBlobStore({ root: './data/blobs' }),
 * })
 * const me = { ownerId: 'alice', scopes: ['photos.read', 'photos.write'] }
 * const album = await darkroom.albums.create(me, { title: 'Wedding', photoCap: 500 })
 */
export async function createDarkroom(options: DarkroomOptions): Promise<Darkroom> {
  if (!options?.store) throw new TypeError('createDarkroom: the `store` option is required')
  if (!options.blobs) throw new TypeError('createDarkroom: the `blobs` option is required')
  const config = parseConfig(options.config ?? {})
  const { video } = config
  const frameExtractor =
    options.frameExtractor ??
    new FfmpegFrameExtractor({
      ffmpegPath: video.ffmpegPath,
      ffprobePath: video.ffprobePath,
      timeoutMs: video.timeoutMs,
    })
  // Video enabled without working tools would fail every video upload: refuse to start.
  if (video.enabled) await frameExtractor.check()
  const clock = options.clock ?? systemClock
  const ids = options.ids ?? uuidV7Ids
  const logger = options.logger ?? silentLogger
  const ctx: ServiceContext = {
    store: options.store,
    blobs: options.blobs,
    events: new EventBus(options.events, clock, ids, logger),
    clock,
    ids,
    logger,
    config,
    media: { ...defaultMedia, ...options.media },
    frameExtractor,
    scratchSpace:
      options.scratchSpace ?? new FsScratchSpace(video.tempDir ? { directory: video.tempDir } : {}),
    heifDecoder: options.heifDecoder ?? new LibheifHeifDecoder(),
    cpu: new Limiter(Math.max(1, Math.min(config.concurrency, availableParallelism()))),
    decodeMemory: new Budget(config.limits.ingestMemoryBytes),
    renders: new RenderLimiter(renderConcurrency(config)),
  }
  await ctx.store.migrate()

  const bind =
    <A extends unknown[], R>(fn: (ctx: ServiceContext, ...args: A) => R) =>
    (...args: A): R =>
      fn(ctx, ...args)
  const observer = options.observer
  // Timed here, around the whole call, so that the ingest inside stays free of metrics and
  // every transport (tRPC form, tus, an app calling core) is measured alike.
  const timedUpload: Bind<typeof upload> = observer?.upload
    ? async (caller, input) => {
        const started = performance.now()
        const report = (result: Awaited<ReturnType<typeof upload>> | null, error: unknown) => {
          try {
            observer.upload?.({
              durationMs: performance.now() - started,
              files: Array.isArray(input?.files) ? input.files.length : 0,
              uploaded: result?.uploaded.length ?? 0,
              skipped: result?.skipped.length ?? 0,
              error: result ? null : isDarkroomError(error) ? error.code : 'INTERNAL',
            })
          } catch (thrown) {
            logger.warn({ err: thrown }, 'the upload observer threw')
          }
        }
        try {
          const result = await upload(ctx, caller, input)
          report(result, null)
          return result
        } catch (error) {
          report(null, error)
          throw error
        }
      }
    : bind(upload)
  let closed = false
  return {
    config,
    photos: {
      upload: timedUpload,
      list: bind(list),
      get: bind(get),
      getMany: bind(getMany),
      update: bind(update),
      move: bind(move),
      reorder: bind(reorder),
      delete: bind(deletePhoto),
      bulkDelete: bind(bulkDelete),
      restore: bind(restore),
      repairDimensions: bind(repairDimensions),
      react: bind(react),
      listComments: bind(listComments),
      openBlob: bind(openBlob),
      listArchive: bind(listArchive),
      precheck: bind(precheck),
      transform: bind(transform),
      ownerOf: bind(ownerOf),
    },
    albums: {
      create: bind(albums.create),
      list: bind(albums.list),
      get: bind(albums.get),
      update: bind(albums.update),
      delete: bind(albums.remove),
    },
    owners: { me: bind(owners.me), setQuota: bind(owners.setQuota) },
    maintenance: {
      purgePending: bind(maintenance.purgePending),
      purgeTrash: bind(maintenance.purgeTrash),
      sweepOrphans: bind(maintenance.sweepOrphans),
    },
    health: bind(health),
    stats: () => ({
      cpu: ctx.cpu.stats(),
      decodeMemory: ctx.decodeMemory.stats(),
      renders: ctx.renders.stats(),
    }),
    events: { on: (type, listener) => ctx.events.on(type, listener) },
    async close() {
      if (closed) return
      closed = true
      await ctx.store.close()
      await ctx.blobs.close?.()
    },
  }
}

/** Parses and freezes the config; every problem is listed in one `VALIDATION` error. */
export function parseConfig(input: DarkroomConfigInput): DarkroomConfig {
  const parsed = configSchema.safeParse(input)
  if (!parsed.success) {
    const violations = parsed.error.issues.map((issue) => ({
      property: issue.path.join('.') || '(config)',
      message: issue.message,
    }))
    throw new DarkroomError(
      'VALIDATION',
      `Invalid Darkroom config: ${violations.map((v) => `${v.property}: ${v.message}`).join('; ')}`,
      { violations },
    )
  }
  return deepFreeze(parsed.data)
}

/** `transforms.concurrency`, else half the cores (at least 1). */
function renderConcurrency(config: DarkroomConfig): number {
  return Math.max(
    1,
    config.transforms.concurrency ?? Math.floor(Math.min(availableParallelism(), 64) / 2),
  )
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

export type { Album, Caller, Photo }
