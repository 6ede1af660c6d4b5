import fc from 'fast-check'
import { beforeAll, describe, it } from 'vitest'
import {
  checkAgainstModel,
  checkCapsUnderConcurrency,
  checkKeysetPaging,
  makeJpeg,
  makeTestDarkroom,
  type AlbumSlot,
  type EngineFactory,
  type PhotoCommand,
} from '../../testing/index.js'

/**
 * Invariants of ordering, paging, caps and quotas, property-tested with fast-check over the
 * in-memory adapters (packages/storage runs the same properties on SQLite). Images are tiny and
 * the only variant is 16 px, so a run costs milliseconds; numRuns keeps the file near 10 s.
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

const slot = fc.constantFrom<AlbumSlot>(0, 1, 2)
export const commandArb: fc.Arbitrary<PhotoCommand> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('upload' as const),
      album: slot,
      count: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('move' as const), pick: fc.nat(), album: slot }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('reorder' as const),
      pick: fc.nat(),
      anchor: fc.nat(),
      before: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('delete' as const),
      pick: fc.nat(),
      hard: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('restore' as const), pick: fc.nat() }) },
)

describe('photo invariants (in-memory adapters)', () => {
  it('photos.list by position equals the model after any sequence of commands', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 25 }), (commands) =>
        checkAgainstModel(memory, pool, commands),
      ),
      { numRuns: 60 },
    )
  })

  it('keyset pagination visits every photo exactly once while inserts happen between pages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          initial: fc.array(slot, { minLength: 0, maxLength: 14 }),
          sort: fc.constantFrom('uploaded', 'taken', 'filename', 'size', 'rating', 'position'),
          order: fc.constantFrom('asc', 'desc'),
          pageSize: fc.integer({ min: 1, max: 5 }),
          insertsBetween: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 4 }),
          album: fc.option(slot, { nil: undefined }),
        }),
        (scenario) => checkKeysetPaging(memory, pool, scenario),
      ),
      { numRuns: 60 },
    )
  })

  it('no interleaving of concurrent batches, moves and copies passes a cap or a quota', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          photoCap: fc.integer({ min: 0, max: 6 }),
          batches: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
          moves: fc.array(fc.record({ copy: fc.boolean() }), { maxLength: 4 }),
          quotaImages: fc.integer({ min: 0, max: 6 }),
          quotaBatches: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 4 }),
        }),
        (scenario) => checkCapsUnderConcurrency(memory, pool, scenario),
      ),
      { numRuns: 40 },
    )
  })
})
