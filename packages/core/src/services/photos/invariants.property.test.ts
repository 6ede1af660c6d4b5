import fc from 'fast-check'
import { beforeAll, describe, it } from 'vitest'
import {
  capScenarioArb,
  checkAgainstModel,
  checkCapsUnderConcurrency,
  checkKeysetPaging,
  makeJpeg,
  makeTestDarkroom,
  pagingScenarioArb,
  photoCommandsArb,
  type EngineFactory,
} from '../../testing/index.js'

/**
 * Invariants of ordering, paging, caps and quotas, property-tested with fast-check over the
 * in-memory adapters (packages/storage runs the same properties, from the same generators in
 * `testing/photo-arbitraries.ts`, on SQLite). Images are tiny and the only variant is 16 px, so
 * a run costs milliseconds; numRuns keeps the file near 10 s.
 */

const CONFIG = { concurrency: 1, variants: { presets: { small: { maxEdge: 16 } } } }
let pool: Uint8Array[] = []

beforeAll(async () => {
  pool = await Promise.all(
    Array.from({ length: 120 }, (_, i) => makeJpeg({ width: 16, height: 12, seed: i + 1 })),
  )
})

const memory: EngineFactory = async () => {
  const { darkroom } = await makeTestDarkroom({ config: CONFIG })
  return { darkroom, close: () => darkroom.close() }
}

describe('photo invariants (in-memory adapters)', () => {
  it('photos.list by position equals the model after any sequence of commands', async () => {
    await fc.assert(
      fc.asyncProperty(photoCommandsArb, (commands) => checkAgainstModel(memory, pool, commands)),
      { numRuns: 60 },
    )
  })

  it('keyset pagination visits every photo exactly once while inserts happen between pages', async () => {
    await fc.assert(
      fc.asyncProperty(pagingScenarioArb, (scenario) => checkKeysetPaging(memory, pool, scenario)),
      { numRuns: 60 },
    )
  })

  it('no interleaving of concurrent batches, moves and copies passes a cap or a quota', async () => {
    await fc.assert(
      fc.asyncProperty(capScenarioArb, (scenario) =>
        checkCapsUnderConcurrency(memory, pool, scenario),
      ),
      { numRuns: 40 },
    )
  })
})
