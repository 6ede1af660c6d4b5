import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDarkroom } from '@darkroom/core'
import { makeJpeg, ManualClock, MemoryBlobStore, sequentialIds } from '@darkroom/core/testing'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, it } from 'vitest'
// The model and its generators are core's test-only files (not in @darkroom/core's dist).
import {
  capScenarioArb,
  pagingScenarioArb,
  photoCommandsArb,
} from '../../core/src/testing/photo-arbitraries.js'
import {
  checkAgainstModel,
  checkCapsUnderConcurrency,
  checkKeysetPaging,
  type EngineFactory,
} from '../../core/src/testing/photo-model.js'
import { createSqliteStore } from './metadata/sqlite.js'

/**
 * The photo invariants of core (packages/core/src/services/photos/invariants.property.test.ts)
 * on SQLite: the same model, paging and concurrency properties over the same generators, each
 * run on a fresh database file, so that position keys, keyset queries and cap transactions are
 * checked in SQL too.
 */

const CONFIG = { concurrency: 1, variants: { presets: { small: { maxEdge: 16 } } } }
const dir = mkdtempSync(join(tmpdir(), 'darkroom-invariants-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let pool: Uint8Array[] = []
let n = 0

beforeAll(async () => {
  pool = await Promise.all(
    Array.from({ length: 120 }, (_, i) => makeJpeg({ width: 16, height: 12, seed: i + 1 })),
  )
})

const sqlite: EngineFactory = async () => {
  const darkroom = await createDarkroom({
    store: createSqliteStore({ filename: join(dir, `run-${++n}.db`) }),
    blobs: new MemoryBlobStore(),
    config: CONFIG,
    clock: new ManualClock(),
    ids: sequentialIds(),
  })
  return { darkroom, close: () => darkroom.close() }
}

describe('photo invariants (SQLite)', () => {
  it('photos.list by position equals the model after any sequence of commands', async () => {
    await fc.assert(
      fc.asyncProperty(photoCommandsArb, (commands) => checkAgainstModel(sqlite, pool, commands)),
      { numRuns: 40 },
    )
  })

  it('keyset pagination visits every photo exactly once while inserts happen between pages', async () => {
    await fc.assert(
      fc.asyncProperty(pagingScenarioArb, (scenario) => checkKeysetPaging(sqlite, pool, scenario)),
      { numRuns: 40 },
    )
  })

  it('no interleaving of concurrent batches, moves and copies passes a cap or a quota', async () => {
    await fc.assert(
      fc.asyncProperty(capScenarioArb, (scenario) =>
        checkCapsUnderConcurrency(sqlite, pool, scenario),
      ),
      { numRuns: 30 },
    )
  })
})
