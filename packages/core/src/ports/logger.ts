/** The few log calls core makes (failures it survives). pino's logger fits as it is. */
export interface Logger {
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export const silentLogger: Logger = { warn: () => {}, error: () => {} }
