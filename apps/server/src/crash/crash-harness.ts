import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import type { SweepResult } from '@darkroom/core'
import { createEngine } from '../compose.js'
import { loadConfig } from '../config.js'
import { createLogger } from '../logger.js'
import { sourcesTsconfig } from '../testing/processes.js'

/**
 * Crash harness: the server as a real child process (`node --import tsx apps/server/src/main.ts`
 * from the sources, packages included), killed with SIGKILL at a moment drawn from a seeded
 * PRNG and started again on the same DATA_DIR, plus the readers the crash test checks its
 * invariants with: the photo rows straight from the SQLite file (not through the code under
 * test) and the files of the blob folder.
 *
 * Replay a failing run with `CRASH_SEED=<seed printed by the run>`.
 */

/** The repository root, from this file's place (apps/server/src/crash). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url))

const MAIN = join('apps', 'server', 'src', 'main.ts')
const CLI = join('apps', 'server', 'src', 'cli', 'index.ts')

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same kill moments. */
export class Prng {
  #state: number
  constructor(readonly seed: number) {
    this.#state = seed >>> 0
  }
  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[Math.floor(this.next() * items.length)]!
  }
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1))
      ;[out[i], out[j]] = [out[j]!, out[i]!]
    }
    return out
  }
}

/** `CRASH_SEED` when set (a whole number), else a fresh random seed. */
export function crashSeed(env: Record<string, string | undefined> = process.env): number {
  const given = env.CRASH_SEED?.trim()
  if (given) {
    if (!/^\d+$/.test(given)) throw new Error(`CRASH_SEED must be a whole number, got ${given}`)
    return Number(given) >>> 0
  }
  return (Math.random() * 2 ** 32) >>> 0
}

export interface ServerChild {
  readonly process: ChildProcess
  readonly pid: number
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** The admin key printed on the first start of a DATA_DIR; null on later starts. */
  readonly adminKey: string | null
  /** Everything the child printed so far (stdout and stderr). */
  output(): string
  /** Resolves when the child has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>
  /** SIGTERM (graceful drain), then waits for the exit; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
  /** Resident set size now, in KiB (VmRSS), or null when /proc is not there. */
  rssKb(): number | null
  /** Peak resident set size so far, in KiB (VmHWM), or null when /proc is not there. */
  peakRssKb(): number | null
}

export interface StartChildOptions {
  dataDir: string
  env?: Record<string, string>
  /** Run `@darkroom/*` from their sources (default) rather than their built `dist/`. */
  fromSources?: boolean
  timeoutMs?: number
  /** Wait for the first-start admin key; default: when DATA_DIR holds no database yet. */
  waitForKey?: boolean
}

/** Starts `apps/server/src/main.ts` on 127.0.0.1:0 and waits until it prints its URL. */
export async function startServerChild(options: StartChildOptions): Promise<ServerChild> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: options.dataDir,
    LOG_LEVEL: 'warn',
    ...options.env,
  }
  // Vitest's own variables would otherwise leak into the child.
  delete env.NODE_OPTIONS
  if (options.fromSources !== false) env.TSX_TSCONFIG_PATH = sourcesTsconfig()
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  const timeoutMs = options.timeoutMs ?? 30_000
  const waitForKey = options.waitForKey ?? !existsSync(join(options.dataDir, 'darkroom.db'))
  const ready = new Promise<{ url: string; adminKey: string | null }>((resolve, reject) => {
    let url: string | null = null
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the server did not start within ${timeoutMs} ms:\n${output}`))
    }, timeoutMs)
    const look = () => {
      url ??= /Darkroom is listening on (\S+)/.exec(output)?.[1] ?? null
      if (!url) return
      const key = /^\s+(sk_\S+)\s*$/m.exec(output)?.[1] ?? null
      // On a first start the key is printed after the URL.
      if (key || !waitForKey) {
        clearTimeout(timer)
        resolve({ url, adminKey: key })
      }
    }
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8')
      look()
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`the server exited (${code ?? signal}) before listening:\n${output}`))
    })
  })
  const { url, adminKey } = await ready
  const status = (field: string): number | null => {
    try {
      const text = readFileSync(`/proc/${child.pid}/status`, 'utf8')
      const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text)
      return match ? Number(match[1]) : null
    } catch {
      return null
    }
  }
  return {
    process: child,
    pid: child.pid!,
    url,
    adminKey,
    output: () => output,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
    rssKb: () => status('VmRSS'),
    peakRssKb: () => status('VmHWM'),
  }
}

/** Runs the CLI (`apps/server/src/cli/index.ts`) on a DATA_DIR; resolves with its stdout. */
export async function runCli(
  dataDir: string,
  args: string[],
  options: { fromSources?: boolean; env?: Record<string, string> } = {},
): Promise<string> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ...options.env,
  }
  delete env.NODE_OPTIONS
  if (options.fromSources !== false) env.TSX_TSCONFIG_PATH = sourcesTsconfig()
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`darkroom ${args.join(' ')} exited ${code}:\n${stderr}`)
  return stdout
}

/**
 * The orphan sweep through the engine, in this process, on a DATA_DIR whose server is down;
 * `olderThanMs: 0`, since no ingest can be in flight.
 */
export async function sweepOrphansInProcess(dataDir: string): Promise<SweepResult> {
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' })
  const engine = await createEngine(config, createLogger('silent', { pretty: false }))
  try {
    return await engine.darkroom.maintenance.sweepOrphans({ olderThanMs: 0 })
  } finally {
    await engine.darkroom.close()
  }
}

/** Resolves after `ms`; the kill moments come from the PRNG, the waiting from here. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export interface PhotoRow {
  id: string
  ownerId: string
  albumId: string | null
  checksum: string
  deleted: boolean
  pending: boolean
  position: string
  /** The original's key and every variant's key. */
  keys: string[]
}

/**
 * Every photo row (trash and pending included), read from the SQLite file with a read-only
 * connection of its own: the check does not trust the store it checks.
 */
export function readPhotoRows(dataDir: string): PhotoRow[] {
  const db = new Database(join(dataDir, 'darkroom.db'), { readonly: true, fileMustExist: true })
  try {
    const rows = db
      .prepare(
        'SELECT id, owner_id, album_id, checksum, deleted_at, pending, position, original_key, variants FROM photos',
      )
      .all() as Array<{
      id: string
      owner_id: string
      album_id: string | null
      checksum: string
      deleted_at: unknown
      pending: number
      position: string
      original_key: string
      variants: string
    }>
    return rows.map((row) => ({
      id: row.id,
      ownerId: row.owner_id,
      albumId: row.album_id,
      checksum: row.checksum,
      deleted: row.deleted_at !== null,
      pending: Boolean(row.pending),
      position: row.position,
      keys: [
        row.original_key,
        ...(JSON.parse(row.variants) as Array<{ key: string }>).map((v) => v.key),
      ],
    }))
  } finally {
    db.close()
  }
}

export interface BlobFile {
  /** The path under the blob root, with `/`. */
  path: string
  /** The blob key it holds (`photos/<id>/<name>`), or null for anything else (temp files). */
  key: string | null
}

/**
 * Every file under the blob root, temp files included. The fs store shards `photos/<id>/<name>`
 * as `photos/<h>/<h>/<id>/<name>`; any other file (a `.tmp/` leftover) has no key.
 */
export async function walkBlobFiles(root: string): Promise<BlobFile[]> {
  const files: BlobFile[] = []
  const walk = async (dir: string) => {
    let entries
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return
      throw error
    }
    for (const entry of entries) {
      const full = join(dir, entry.name)
      if (entry.isDirectory()) await walk(full)
      else {
        const path = relative(root, full).split(sep).join('/')
        const parts = path.split('/')
        const sharded =
          parts.length === 5 && parts[0] === 'photos' && /^[0-9a-f]{2}$/.test(parts[1]!)
        files.push({ path, key: sharded ? `photos/${parts[3]}/${parts[4]}` : null })
      }
    }
  }
  await walk(root)
  return files
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}
