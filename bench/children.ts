import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

/** What `npm start` runs (built by `npm install` / `npm run build`: apps/server/scripts/bundle.mjs). */
export const SERVER_MAIN = join(
  import.meta.dirname,
  '..',
  'apps',
  'server',
  'dist',
  'main.bundle.js',
)

/**
 * A Node child process serving HTTP (the real server, or a baseline written inline), started
 * once it prints `listening on <url>`. Benchmarks run servers as children so the load generator
 * never shares their event loop, and so their memory and CPU can be read from /proc alone.
 */
export interface Child {
  process: ChildProcess
  url: string
  /** Everything it printed so far (stdout and stderr). */
  output(): string
  /** The admin key the server prints on a first start (an empty DATA_DIR). */
  adminKey(): Promise<string>
  /** Peak VmRSS in MB since the last call (sampled every 50 ms; Linux, else 0). */
  takePeakRssMb(): number
  /** CPU time (user + system, ms) used so far, from /proc; null elsewhere. */
  cpuMs(): Promise<number | null>
  /** SIGTERM, or SIGKILL where the state left behind does not matter; resolves once closed. */
  stop(signal?: NodeJS.Signals): Promise<void>
}

export async function startChild(args: string[], env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const collect = (chunk: Buffer) => (out += chunk.toString())
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const match = /listening on (http:\/\/\S+)/i.exec(out)
      if (match) resolve(match[1]!)
    })
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)))
  })
  const rssMb = () => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
      return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024
    } catch {
      return 0
    }
  }
  let peak = rssMb()
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 50)
  return {
    process: child,
    url,
    output: () => out,
    async adminKey() {
      // Printed just after the URL on a first start.
      for (let i = 0; i < 250; i++) {
        const match = /shown only this once:\s+(sk_\S+)/.exec(out)
        if (match) return match[1]!
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      throw new Error(`no admin key printed: ${out}`)
    },
    takePeakRssMb() {
      const value = Math.round(Math.max(peak, rssMb()))
      peak = rssMb()
      return value
    },
    async cpuMs() {
      const stat = await readFile(`/proc/${child.pid}/stat`, 'utf8').catch(() => null)
      const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ')
      // utime and stime, in clock ticks of 10 ms.
      return fields ? (Number(fields[11]) + Number(fields[12])) * 10 : null
    },
    async stop(signal = 'SIGTERM') {
      clearInterval(sampler)
      if (child.exitCode !== null || child.signalCode !== null) return
      const closed = new Promise((resolve) => child.once('close', resolve))
      child.kill(signal)
      await closed
    },
  }
}
