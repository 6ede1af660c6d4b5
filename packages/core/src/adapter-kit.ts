/**
 * `@darkroom/core/adapter-kit`: the rules a port implementation must share with the bundled
 * adapters so that every store behaves alike (blob key checks, byte ranges, search folding,
 * photo ordering and keysets, the counters). Needed to write a `MetadataStore` or `BlobStore`
 * of your own; embedding Darkroom needs nothing from here.
 */
export { assertBlobKey, assertBlobPrefix, isValidBlobKey } from './domain/assert-blob-key.js'
export { photoIdOfKey } from './domain/blob-keys.js'
export { resolveByteRange } from './domain/byte-range.js'
export { extensionOf } from './domain/photo.js'
export { foldSearchText, matchesPhotoSearch } from './domain/photo-search.js'
export {
  compareBinary,
  compareKeysets,
  comparePhotos,
  compareSortValues,
  isNumericSort,
  keysetOf,
  ratingAverage,
  sortValue,
  takenSortKey,
  validatePhotoPaging,
} from './domain/sort.js'
export { PHOTO_COUNTERS } from './ports/metadata-store.js'
