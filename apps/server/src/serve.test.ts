import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { serve } from './serve.js'
import { startServerProcess } from './testing/processes.js'

/**
 * A start-up refused by the engine (here: video enabled, ffmpeg and ffprobe missing) ends with
 * one line naming the error's code and what to fix, and exit code 1, not a stack trace.
 */

let dir: string
let env: Record<string, string>

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'darkroom-serve-'))
  const missing = join(dir, 'no-such-binary')
  env = {
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: join(dir, 'data'),
    LOG_LEVEL: 'silent',
    VIDEO_ENABLED: 'true',
    FFMPEG_PATH: missing,
    FFPROBE_PATH: missing,
  }
})
afterAll(() => rm(dir, { recursive: true, force: true }))
afterEach(() => vi.restoreAllMocks())

const LINE = /^Darkroom cannot start: VALIDATION: Video cannot be enabled\. .*ffmpeg was not found/

describe('serve() when the engine refuses to start', () => {
  it('prints one line with the code and the message, and exits 1', async () => {
    class Exit extends Error {
      constructor(readonly code: number | string | null | undefined) {
        super(`process.exit(${code})`)
      }
    }
    vi.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Exit(code)
    })
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {})

    const error = await serve(env).catch((e: unknown) => e)

    expect(error).toBeInstanceOf(Exit)
    expect((error as Exit).code).toBe(1)
    expect(printed).toHaveBeenCalledTimes(1)
    const line = String(printed.mock.calls[0]![0])
    expect(line).toMatch(LINE)
    expect(line).toContain('FFMPEG_PATH')
    expect(line).not.toContain('\n')
  })

  it('as a process, prints that line and nothing else', async () => {
    const error = await startServerProcess(env).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    // The message is a heading line, then everything the process wrote.
    const output = (error as Error).message.split('\n').slice(1).join('\n').trim()
    expect(output).toMatch(LINE)
    expect(output.split('\n')).toHaveLength(1)
  })
})
