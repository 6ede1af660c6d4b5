// This repository's own test support: the public kit (`./public.js`, shipped as
// `@darkroom/core/testing`) plus what only these tests use and `dist` leaves out: the corpus
// finder and the property-test model with its fast-check generators. Other workspaces import
// the test-only files by relative path (`packages/core/src/testing/corpus.js`).
export * from './public.js'
export * from './corpus.js'
export * from './photo-model.js'
export * from './photo-arbitraries.js'
