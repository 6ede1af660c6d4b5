import type { DarkroomConfig } from '../config.js'
import type { Media } from '../internal/media.js'
import type { BlobStore } from '../ports/blob-store.js'
import type { Clock } from '../ports/clock.js'
import type { IdGenerator } from '../ports/ids.js'
import type { Logger } from '../ports/logger.js'
import type { MetadataStore } from '../ports/metadata-store.js'
import type { FrameExtractor } from '../ports/frame-extractor.js'
import type { HeifDecoder } from '../ports/heif-decoder.js'
import type { ScratchSpace } from '../ports/scratch-space.js'
import type { EventBus } from './events.js'
import type { Budget, Limiter, RenderLimiter } from '../internal/limit.js'

/** What every service function is handed: the ports, the frozen config and shared helpers. */
export interface ServiceContext {
  store: MetadataStore
  blobs: BlobStore
  events: EventBus
  clock: Clock
  ids: IdGenerator
  logger: Logger
  config: DarkroomConfig
  media: Media
  /** Probe, integrity check and poster frame of a video (ffprobe/ffmpeg by default). */
  frameExtractor: FrameExtractor
  /** Temp files, and reading a file the caller has on disk. */
  scratchSpace: ScratchSpace
  /** HEVC-coded HEIF pixels, which sharp cannot decode. */
  heifDecoder: HeifDecoder
  /** Bounds CPU-heavy image work (probes and renders) across every caller of this engine. */
  cpu: Limiter
  /** Bounds the memory of image decodes across every caller (`limits.ingestMemoryBytes`). */
  decodeMemory: Budget
  /** Bounds on-the-fly renders (`photos.transform`), apart from ingest's `cpu`. */
  renders: RenderLimiter
}
