import { createRequire } from 'node:module'
import { pino, type Logger as PinoLogger } from 'pino'
import type { LogLevel } from './config.js'

export type Logger = PinoLogger

/**
 * Structured JSON logs on stdout; pretty lines when stdout is a terminal and `pino-pretty`
 * happens to be installed (it is not a dependency).
 */
export function createLogger(level: LogLevel, options: { pretty?: boolean } = {}): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY === true && hasPinoPretty())
  return pino({
    level,
    base: undefined,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  })
}

function hasPinoPretty(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty')
    return true
  } catch {
    return false
  }
}
