import type sharp from 'sharp'

/** sharp's default export: the pipeline factory, with its global settings. */
export type SharpFactory = typeof sharp

let loading: Promise<SharpFactory> | undefined

/**
 * sharp (and libvips behind it), loaded on first use: importing it costs about 90 ms of a
 * server's start (the native binding and its JavaScript), which a start that has not decoded an
 * image yet need not pay (`npm start` answers `/healthz` without it). Loaded once; later calls
 * get the same module.
 */
export function loadSharp(): Promise<SharpFactory> {
  loading ??= import('sharp').then((module) => module.default)
  return loading
}
