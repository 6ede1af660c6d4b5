// `@darkroom/core/testing`: in-memory adapters, record builders, a manual clock, sequential ids
// and small generated images, for the tests of apps that embed Darkroom and of adapter authors.
export { MemoryMetadataStore } from './memory-metadata-store.js'
export { MemoryBlobStore } from './memory-blob-store.js'
export { MemoryServerStore } from './memory-server-store.js'
export type { MemoryServerStoreOptions } from './memory-server-store.js'
export * from './builders.js'
export * from './harness.js'
export * from './images.js'
