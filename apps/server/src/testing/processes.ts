import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Server processes for the multi-process tests and the scale bench: `node --import tsx
 * apps/server/src/main.ts` with its env, from the sources (every `@darkroom/*` entry point is
 * mapped to its `src/` through a tsconfig handed to tsx, built from the packages' `exports`, so
 * new entries need no change here). Resolves once the process prints its URL.
 */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
const MAIN = join('apps', 'server', 'src', 'main.ts')

let tsconfigPath: string | undefined

/**
 * A tsconfig whose `paths` point every `@darkroom/*` package entry (read from the packages'
 * `exports`) at its `src/`, handed to tsx (`TSX_TSCONFIG_PATH`), so that a child process runs the
 * sources under test and not a stale `dist/`.
 */
export function sourcesTsconfig(): string {
  if (tsconfigPath) return tsconfigPath
  const paths: Record<string, string[]> = {}
  const packages = join(REPO_ROOT, 'packages')
  for (const dir of readdirSync(packages)) {
    let manifest: { name?: string; exports?: Record<string, { default?: string }> }
    try {
      manifest = JSON.parse(readFileSync(join(packages, dir, 'package.json'), 'utf8'))
    } catch {
      continue
    }
    for (const [sub, target] of Object.entries(manifest.exports ?? {})) {
      const file = target?.default
      if (!manifest.name || !file?.startsWith('./dist/')) continue
      const source = file.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')
      paths[sub === '.' ? manifest.name : `${manifest.name}/${sub.slice(2)}`] = [
        join(packages, dir, source),
      ]
    }
  }
  const text = JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      verbatimModuleSyntax: true,
      baseUrl: REPO_ROOT,
      paths,
    },
  })
  // Named by its content: reruns reuse one file instead of leaving one per run.
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16)
  const dir = join(tmpdir(), 'darkroom-scale-tsx')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `tsconfig.${hash}.json`)
  // Written aside and renamed: a child starting meanwhile never reads half of it.
  const staged = `${file}.${process.pid}.tmp`
  writeFileSync(staged, text)
  renameSync(staged, file)
  tsconfigPath = file
  return file
}

export interface ServerProcess {
  readonly child: ChildProcess
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  output(): string
  /** SIGKILL: no drain, no cleanup, sockets and database sessions die with it. */
  kill(): Promise<void>
  /** SIGTERM, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

/** The server process's env: the sources through tsx, quiet logs, this env on top. */
function childEnvOf(env: Record<string, string>): Record<string, string | undefined> {
  const childEnv: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    TSX_TSCONFIG_PATH: sourcesTsconfig(),
    ...env,
  }
  delete childEnv.NODE_OPTIONS
  return childEnv
}

/**
 * Runs the server until it exits by itself (a start that fails), killing it after `timeoutMs`;
 * resolves with its exit code and what it wrote to stdout and stderr.
 */
export async function runServerProcessToExit(
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: REPO_ROOT,
    env: childEnvOf(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/**
 * Starts the server from its sources, or from `args` instead (`[path]`: a built entry such as
 * the bundle `npm start` runs).
 */
export async function startServerProcess(
  env: Record<string, string>,
  timeoutMs = 60_000,
  args: string[] = ['--import', 'tsx', MAIN],
): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: childEnvOf(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the server did not start within ${timeoutMs} ms:\n${output}`))
    }, timeoutMs)
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8')
      const found = /Darkroom is listening on (\S+)/.exec(output)?.[1]
      if (found) {
        clearTimeout(timer)
        resolve(found)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    void exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`the server exited before listening:\n${output}`))
    })
  })
  const alive = () => child.exitCode === null && child.signalCode === null
  return {
    child,
    url,
    output: () => output,
    async kill() {
      if (alive()) child.kill('SIGKILL')
      await exited
    },
    async stop(graceMs = 10_000) {
      if (alive()) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}
