export * from './video-violations.js'
