export * from './corpus.js'
