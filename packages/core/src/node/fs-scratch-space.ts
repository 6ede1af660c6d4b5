import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { ScratchFile, ScratchSpace } from '../ports/scratch-space.js'

export interface FsScratchSpaceOptions {
  /** Where temp files go (created when missing). Default: the OS temp folder. */
  directory?: string
}

/**
 * `ScratchSpace` on the local filesystem. Each file is created exclusively (`wx`, never through a
 * name that exists, symlinks included) with mode 0600, under a random name starting `darkroom-`.
 *
 * @example
 * const darkroom = await createDarkroom({
 *   store,
 *   blobs,
 *   scratchSpace: new FsScratchSpace({ directory: './data/tmp' }),
 * })
 */
export class FsScratchSpace implements ScratchSpace {
  private readonly directory: string | undefined

  constructor(options: FsScratchSpaceOptions = {}) {
    this.directory = options.directory
  }

  async spool(
    chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
    options: { suffix?: string } = {},
  ): Promise<ScratchFile> {
    const directory = this.directory ?? tmpdir()
    await mkdir(directory, { recursive: true })
    const path = join(directory, `darkroom-${randomUUID()}${options.suffix ?? ''}`)
    const dispose = () => rm(path, { force: true })
    const file = await open(path, 'wx', 0o600)
    let size = 0
    try {
      try {
        for await (const chunk of chunks) {
          for (let offset = 0; offset < chunk.byteLength;) {
            const { bytesWritten } = await file.write(chunk, offset, chunk.byteLength - offset)
            offset += bytesWritten
          }
          size += chunk.byteLength
        }
      } finally {
        await file.close()
      }
    } catch (error) {
      await dispose()
      throw error
    }
    return { path, size, dispose }
  }

  read(path: string, range: { start?: number; end?: number } = {}): Readable {
    const { start = 0, end } = range
    if (end !== undefined && end <= start) return Readable.from([])
    // createReadStream's `end` is inclusive; the port's is not.
    return createReadStream(path, { start, ...(end !== undefined ? { end: end - 1 } : {}) })
  }

  async sizeOf(path: string): Promise<number> {
    return (await stat(path)).size
  }
}
