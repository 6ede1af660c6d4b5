export * from './errors.js'
export * from './config.js'
export type * from './domain/types.js'
export * from './ports/index.js'
