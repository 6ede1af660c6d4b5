export * from './corpus.js'
export * from './builders.js'
export { MemoryMetadataStore } from './memory-metadata-store.js'
export { MemoryBlobStore } from './memory-blob-store.js'
export {
  compareBinary,
  comparePhotos,
  compareSortValues,
  keysetOf,
  sortValue,
  takenSortKey,
} from '../domain/sort.js'
export * from './images.js'
export * from './harness.js'
export { MemoryServerStore } from './memory-server-store.js'
export type { MemoryServerStoreOptions } from './memory-server-store.js'
export * from './photo-model.js'
export * from './photo-arbitraries.js'
