import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { serve } from './serve.js'
import { runServerProcessToExit, startServerProcess } from './testing/processes.js'

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

/**
 * A start that cannot listen stops before anything exists: the ports are bound before the data
 * folder, the database and the admin key are created. Real processes against a port held here.
 */
describe('serve() when it cannot listen', () => {
  let held: Server
  let port: number

  beforeAll(async () => {
    held = createServer()
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve))
    port = (held.address() as AddressInfo).port
  })
  afterAll(() => new Promise<void>((resolve) => held.close(() => resolve())))

  it('on a busy PORT prints one line, exits 1 and creates nothing; the next start is the first', async () => {
    const dataDir = join(dir, 'busy-port')
    const run = await runServerProcessToExit({ PORT: String(port), DATA_DIR: dataDir })
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(
      `Darkroom cannot start: port ${port} on 127.0.0.1 is in use (set PORT).\n`,
    )
    expect(run.stdout).toBe('')
    expect(existsSync(dataDir)).toBe(false)

    // Nothing was created, so the admin key comes now, and is shown.
    const server = await startServerProcess({ PORT: '0', DATA_DIR: dataDir })
    try {
      await expect
        .poll(() => server.output())
        .toMatch(/First start: an admin API key was created\. It is shown only this once:\s+sk_/)
    } finally {
      await server.stop()
    }
  })

  it('on a busy METRICS_PORT or a foreign HOST, likewise names the variable to set', async () => {
    const metricsDir = join(dir, 'busy-metrics-port')
    const metrics = await runServerProcessToExit({
      METRICS_PORT: String(port),
      DATA_DIR: metricsDir,
    })
    expect(metrics.code).toBe(1)
    expect(metrics.stderr).toBe(
      `Darkroom cannot start: port ${port} on 127.0.0.1 is in use (set METRICS_PORT).\n`,
    )
    expect(existsSync(metricsDir)).toBe(false)

    // 192.0.2.1 (TEST-NET-1) is never an address of this machine.
    const hostDir = join(dir, 'foreign-host')
    const host = await runServerProcessToExit({ HOST: '192.0.2.1', DATA_DIR: hostDir })
    expect(host.code).toBe(1)
    expect(host.stderr).toBe(
      'Darkroom cannot start: 192.0.2.1 is not an address of this machine (set HOST).\n',
    )
    expect(existsSync(hostDir)).toBe(false)
  })
})
