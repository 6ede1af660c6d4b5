import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDarkroom } from '@darkroom/core'
import {
  checkAgainstModel,
  checkCapsUnderConcurrency,
  checkKeysetPaging,
  makeJpeg,
  ManualClock,
  MemoryBlobStore,
  sequentialIds,
  type AlbumSlot,
  type EngineFactory,
  type PhotoCommand,
} from '@darkroom/core/testing'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createSqliteStore } from './metadata/sqlite.js'

/**
 * The photo invariants of core (packages/core/src/services/photos/invariants.property.test.ts)
 * on SQLite: the same model, paging and concurrency properties, each run on a fresh database
 * file, so that position keys, keyset queries and cap transactions are checked in SQL too.
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

const slot = fc.constantFrom<AlbumSlot>(0, 1, 2)
const commandArb: fc.Arbitrary<PhotoCommand> = fc.oneof(
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

describe('photo invariants (SQLite)', () => {
  it('photos.list by position equals the model after any sequence of commands', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 25 }), (commands) =>
        checkAgainstModel(sqlite, pool, commands),
      ),
      { numRuns: 40 },
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
        (scenario) => checkKeysetPaging(sqlite, pool, scenario),
      ),
      { numRuns: 40 },
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
        (scenario) => checkCapsUnderConcurrency(sqlite, pool, scenario),
      ),
      { numRuns: 30 },
    )
  })
})
