import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * Runs the example CLI from its sources as a child process (`node --import tsx
 * apps/example/src/cli/main.ts ...`), the way a user runs it, with DARKROOM_URL/DARKROOM_KEY.
 */

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
export const CLI_MAIN = fileURLToPath(new URL('../cli/main.ts', import.meta.url))

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface CliRun {
  child: ChildProcess
  /** Resolves when the process has exited. */
  done: Promise<CliResult>
  /** Resolves with stdout so far once `predicate` holds for it (checked on every chunk). */
  waitFor(predicate: (stdout: string) => boolean, timeoutMs?: number): Promise<string>
}

export function startCli(
  args: string[],
  env: { url?: string; key?: string | null; extra?: Record<string, string> } = {},
): CliRun {
  const childEnv: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('DARKROOM_')) childEnv[name] = value
  }
  if (env.url) childEnv.DARKROOM_URL = env.url
  if (env.key) childEnv.DARKROOM_KEY = env.key
  Object.assign(childEnv, env.extra)
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, ...args], {
    cwd: REPO_ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const watchers: { predicate: (s: string) => boolean; resolve: (s: string) => void }[] = []
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
    for (const watcher of [...watchers]) {
      if (watcher.predicate(stdout)) {
        watchers.splice(watchers.indexOf(watcher), 1)
        watcher.resolve(stdout)
      }
    }
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
  return {
    child,
    done,
    waitFor(predicate, timeoutMs = 60_000) {
      if (predicate(stdout)) return Promise.resolve(stdout)
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting on the CLI; stdout so far:\n${stdout}`)),
          timeoutMs,
        )
        const watcher = {
          predicate,
          resolve: (s: string) => {
            clearTimeout(timer)
            resolve(s)
          },
        }
        watchers.push(watcher)
        void done.then(() => {
          if (watchers.includes(watcher)) {
            clearTimeout(timer)
            reject(new Error(`the CLI exited before the condition held; stdout:\n${stdout}`))
          }
        })
      })
    },
  }
}

export function runCli(
  args: string[],
  env: { url?: string; key?: string | null; extra?: Record<string, string> } = {},
): Promise<CliResult> {
  return startCli(args, env).done
}
