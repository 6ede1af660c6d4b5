import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** One entry of `shared/corpus/manifest.json` (values from exiftool, see the corpus README). */
export interface CorpusEntry {
  path: string
  format: string
  mime: string
  expect: 'ok' | 'partial' | 'reject'
  width: number | null
  height: number | null
  displayWidth: number | null
  displayHeight: number | null
  orientation: number | null
  takenAt: string | null
  offset: string | null
  gps: { lat: number; lon: number } | null
  make: string | null
  model: string | null
  hasExif: boolean
  notes: string
  bytes: number
  sha256: string
  overPixelLimit?: boolean
  frames?: number
}

/** The folder holding package.json with `workspaces`, found by walking up from this file. */
export function findRepoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from)
  for (;;) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).workspaces) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no workspace root above ${from}`)
    dir = parent
  }
}

/**
 * The shared photo corpus beside the checkout (`<repo>/../shared/corpus`), or null where it is
 * absent (a fresh clone): corpus tests then skip with one line.
 */
export function findCorpusDir(): string | null {
  const dir = join(findRepoRoot(), '..', 'shared', 'corpus')
  return existsSync(join(dir, 'manifest.json')) ? dir : null
}

export function loadCorpus(): { dir: string; entries: CorpusEntry[] } | null {
  const dir = findCorpusDir()
  if (!dir) return null
  const entries = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as CorpusEntry[]
  return { dir, entries }
}

export const CORPUS_MISSING = 'shared/corpus not found beside the checkout: corpus tests skipped'
