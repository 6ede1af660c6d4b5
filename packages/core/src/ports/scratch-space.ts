import type { Readable } from 'node:stream'

/** A file in the scratch space: private to this engine, removed by `dispose`. */
export interface ScratchFile {
  /** Where a tool (ffprobe, libvips) can open it. */
  readonly path: string
  /** Bytes written. */
  readonly size: number
  /** Removes the file. Idempotent; never throws for a file that is already gone. */
  dispose(): Promise<void>
}

/**
 * Files on this machine's disk, for the work that needs a path rather than bytes: a streamed video
 * spooled for ffprobe and ffmpeg, a JPEG copy for a shrink-on-load decode, and reading a file the
 * caller already has on disk (`localFile()`). Implemented by `FsScratchSpace` from
 * `@darkroom/core/node`, the default of `createDarkroom`.
 */
export interface ScratchSpace {
  /**
   * Writes `chunks`, in order, to a new file that only this process can read (never one that
   * existed before), and resolves once it is closed. When `chunks` throws (a size limit, a broken
   * upload) or a write fails, the file is removed and that error propagates unchanged. The caller
   * owns the file and disposes it. `suffix` ends the file's name (`.jpg`: libvips reads load
   * options from a file name).
   */
  spool(
    chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
    options?: { suffix?: string },
  ): Promise<ScratchFile>
  /**
   * A stream of the file at `path` (absolute) from byte `start` (default 0) up to, not including,
   * byte `end` (default: its end). Never changes the file. A missing file fails the stream with
   * the system's error (`ENOENT`).
   */
  read(path: string, range?: { start?: number; end?: number }): Readable
  /** The size in bytes of the file at `path` (absolute). Rejects with the system's error (`ENOENT`). */
  sizeOf(path: string): Promise<number>
}
