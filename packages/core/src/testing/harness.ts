import { createDarkroom, type Darkroom, type DarkroomOptions } from '../darkroom.js'
import type { Caller } from '../domain/types.js'
import type { Clock } from '../ports/clock.js'
import type { DarkroomEvent } from '../ports/event-sink.js'
import type { IdGenerator } from '../ports/ids.js'
import { MemoryBlobStore } from './memory-blob-store.js'
import { MemoryMetadataStore } from './memory-metadata-store.js'

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  private current: number
  constructor(start = Date.parse('2026-01-01T00:00:00.000Z')) {
    this.current = start
  }
  now(): Date {
    return new Date(this.current)
  }
  advance(ms: number): void {
    this.current += ms
  }
}

/** Ids `00000000-0000-7000-8000-000000000001`, `...02`, ...: sortable and readable. */
export function sequentialIds(): IdGenerator {
  let n = 0
  return {
    newId: () => `00000000-0000-7000-8000-${(++n).toString(16).padStart(12, '0')}`,
  }
}

export function makeCaller(
  ownerId = 'alice',
  scopes: string[] = ['photos.read', 'photos.write'],
): Caller {
  return { ownerId, scopes }
}

export interface TestDarkroom {
  darkroom: Darkroom
  store: MemoryMetadataStore
  blobs: MemoryBlobStore
  clock: ManualClock
  events: DarkroomEvent[]
}

/** A Darkroom over the in-memory adapters, a manual clock, and a recorder of every event. */
export async function makeTestDarkroom(
  overrides: Partial<Omit<DarkroomOptions, 'clock'>> & { clock?: ManualClock } = {},
): Promise<TestDarkroom> {
  const store = new MemoryMetadataStore()
  const blobs = (overrides.blobs as MemoryBlobStore | undefined) ?? new MemoryBlobStore()
  const clock = overrides.clock ?? new ManualClock()
  const events: DarkroomEvent[] = []
  const darkroom = await createDarkroom({
    store,
    ids: sequentialIds(),
    events: { emit: async (batch) => void events.push(...batch) },
    ...overrides,
    blobs,
    clock,
  })
  return {
    darkroom,
    store: (overrides.store as MemoryMetadataStore | undefined) ?? store,
    blobs,
    clock,
    events,
  }
}
