import fc from 'fast-check'
import type { AlbumSlot, CapScenario, PagingScenario, PhotoCommand } from './photo-model.js'

/**
 * fast-check generators for the photo-model properties (`checkAgainstModel`, `checkKeysetPaging`,
 * `checkCapsUnderConcurrency`), shared by every adapter that runs them (core's in-memory
 * adapters, storage's SQLite), so that each proves the same invariants over the same inputs.
 *
 * This is the one module of `@darkroom/core/testing` that needs fast-check. Core's runtime entry
 * (`.`) never reaches it, so fast-check is an optional peer dependency of core: whoever imports
 * `./testing` (tests, benches) brings it, as this workspace does as a root devDependency.
 *
 * Sizes stay small on purpose (at most 25 commands, 14 photos before paging, caps up to 6):
 * shrinking then ends on a handful of commands, and a run costs milliseconds.
 */

export const albumSlotArb: fc.Arbitrary<AlbumSlot> = fc.constantFrom<AlbumSlot>(0, 1, 2)

/** One command, weighted towards uploads and reorders, which build the orders to check. */
export const photoCommandArb: fc.Arbitrary<PhotoCommand> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('upload' as const),
      album: albumSlotArb,
      count: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('move' as const),
      pick: fc.nat(),
      album: albumSlotArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('copy' as const),
      pick: fc.nat(),
      album: albumSlotArb,
    }),
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
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('restore' as const), pick: fc.nat() }),
  },
)

/** A sequence of commands for `checkAgainstModel`. */
export const photoCommandsArb: fc.Arbitrary<PhotoCommand[]> = fc.array(photoCommandArb, {
  minLength: 1,
  maxLength: 25,
})

/** A scenario for `checkKeysetPaging`: every sort and order, small pages, inserts between them. */
export const pagingScenarioArb: fc.Arbitrary<PagingScenario> = fc.record({
  initial: fc.array(albumSlotArb, { minLength: 0, maxLength: 14 }),
  sort: fc.constantFrom('uploaded', 'taken', 'filename', 'size', 'rating', 'position'),
  order: fc.constantFrom('asc', 'desc'),
  pageSize: fc.integer({ min: 1, max: 5 }),
  insertsBetween: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 4 }),
  album: fc.option(albumSlotArb, { nil: undefined }),
})

/** A scenario for `checkCapsUnderConcurrency`: caps and quotas small enough to be hit. */
export const capScenarioArb: fc.Arbitrary<CapScenario> = fc.record({
  photoCap: fc.integer({ min: 0, max: 6 }),
  batches: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
  moves: fc.array(fc.record({ copy: fc.boolean() }), { maxLength: 4 }),
  quotaImages: fc.integer({ min: 0, max: 6 }),
  quotaBatches: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 4 }),
})
