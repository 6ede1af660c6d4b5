import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { findRepoRoot } from '../../core/src/testing/corpus.js'

/**
 * The README's embedding snippet, run as a user runs it: plain `node` importing the built
 * packages (`npm install` builds them in `prepare`), on a real SQLite file and folder.
 */
const root = findRepoRoot()
const built = existsSync(join(root, 'packages/storage/dist/index.js'))

describe('examples/embed.mjs', () => {
  it.skipIf(!built)('runs from plain Node and prints the photo as displayed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'darkroom-embed-test-'))
    try {
      const { stdout } = await promisify(execFile)('node', ['examples/embed.mjs'], {
        cwd: root,
        env: { ...process.env, EXAMPLE_DIR: dir },
      })
      expect(stdout).toContain("{ album: 'Wedding', uploaded: 1, skipped: [], total: 1 }")
      expect(stdout).toContain('width: 2000')
      expect(stdout).toContain('height: 3000')
      expect(stdout).toContain("takenAt: '2026-05-12T15:23:11+02:00'")
      expect(existsSync(join(dir, 'darkroom.db'))).toBe(true)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
