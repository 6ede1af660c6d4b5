/**
 * The log calls the handler makes: pino's logger fits as it is (so do `console` and most
 * others). Nothing is logged unless a logger is given.
 */
export interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} }
