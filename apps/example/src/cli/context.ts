import { createDarkroomClient, type DarkroomClient } from '../client.js'
import { CliError } from './args.js'

/**
 * What every command runs with: the typed client, where the server is, the key, and where to
 * write. Commands print through `Output` so tests and scripts read plain lines.
 */

export const DEFAULT_URL = 'http://127.0.0.1:3000'

export interface Output {
  /** Whether stdout is a terminal (progress bars redraw in place only then). */
  isTTY: boolean
  columns: number
  line(text?: string): void
  error(text: string): void
  /** Raw writes to stdout (the progress bars). */
  write(text: string): void
}

export interface CommandContext {
  client: DarkroomClient
  baseUrl: string
  apiKey: string
  output: Output
  /** `--json`: one JSON document on stdout instead of tables. */
  json: boolean
  /** Where relative paths start: the shell's directory (`INIT_CWD` under `npm run`). */
  cwd: string
}

export function processOutput(): Output {
  return {
    isTTY: process.stdout.isTTY === true,
    columns: process.stdout.columns || 100,
    line: (text = '') => void process.stdout.write(`${text}\n`),
    error: (text) => void process.stderr.write(`${text}\n`),
    write: (text) => void process.stdout.write(text),
  }
}

export interface ConnectionFlags {
  url?: string | undefined
  key?: string | undefined
}

/**
 * Flags first, then `DARKROOM_URL` / `DARKROOM_KEY`. A missing key stops here with the way to
 * get one, before any request is made.
 */
export function connect(
  flags: ConnectionFlags,
  env: Record<string, string | undefined>,
): { baseUrl: string; apiKey: string; client: DarkroomClient } {
  const baseUrl = (flags.url ?? env.DARKROOM_URL ?? DEFAULT_URL).trim().replace(/\/+$/, '')
  try {
    const parsed = new URL(baseUrl)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error()
  } catch {
    throw new CliError(`The server URL "${baseUrl}" is not an http(s) URL (--url or DARKROOM_URL).`)
  }
  const apiKey = (flags.key ?? env.DARKROOM_KEY ?? '').trim()
  if (apiKey === '') {
    throw new CliError(
      'No API key: set DARKROOM_KEY=sk_... or pass --key sk_... ' +
        '(the server prints an admin key on its first start; `keys create` makes more).',
    )
  }
  return { baseUrl, apiKey, client: createDarkroomClient({ baseUrl, apiKey }) }
}
