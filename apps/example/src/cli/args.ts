import { parseArgs, type ParseArgsConfig } from 'node:util'

/** A mistake in how the CLI was called: printed with the usage hint, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** A failure the CLI explains in one line (no stack): exit code 1 unless given. */
export class CliError extends Error {
  override readonly name = 'CliError'
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
  }
}

type Options = NonNullable<ParseArgsConfig['options']>

/** Flags every command takes: where the server is and how to talk to it. */
export const COMMON_OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options

/**
 * `node:util` parseArgs, strict, with the common flags added and its errors turned into a
 * `UsageError` (an unknown flag names itself).
 */
type Parsed<T extends Options> = ReturnType<
  typeof parseArgs<{
    args: string[]
    options: typeof COMMON_OPTIONS & T
    allowPositionals: true
    strict: true
  }>
>

export function parse<T extends Options>(argv: string[], options: T): Parsed<T> {
  try {
    return parseArgs({
      args: argv,
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

/** A whole number flag, within bounds; `undefined` when the flag was not given. */
export function intFlag(
  name: string,
  value: string | undefined,
  { min = 1, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${name} takes a whole number from ${min} to ${max} (got "${value}").`)
  }
  return Number(value)
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
}

/** `8MiB`, `256k`, `1048576`: a byte count; `undefined` when the flag was not given. */
export function bytesFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value)
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined
  const bytes = match && unit ? Math.round(Number(match[1]) * unit) : NaN
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new UsageError(`--${name} takes a size such as 8MiB, 256KiB or 1048576 (got "${value}").`)
  }
  return bytes
}

/** Exactly `count` positionals, named in the message when some are missing or extra. */
export function positionals(given: string[], names: string[], command: string): string[] {
  if (given.length !== names.length) {
    const expected = names.map((n) => `<${n}>`).join(' ')
    throw new UsageError(`Usage: ${command} ${expected}`.trim())
  }
  return given
}
