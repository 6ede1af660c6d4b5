import { describe, expect, it } from 'vitest'
import * as defaultMedia from './media/index.js'
import type { UploadObservation } from './ports/observer.js'
import { makeCaller, makeTestDarkroom } from './testing/harness.js'
import { makeJpeg } from './testing/images.js'

/** The observer around `photos.upload` and `stats()`: what the server's metrics read. */

const alice = makeCaller('alice')

describe('observer.upload', () => {
  it('is told each call: files, uploaded, skipped and the time it took', async () => {
    const seen: UploadObservation[] = []
    const { darkroom } = await makeTestDarkroom({
      observer: { upload: (observation) => void seen.push(observation) },
    })
    const data = await makeJpeg({ width: 64, height: 48, seed: 1 })
    await darkroom.photos.upload(alice, {
      files: [
        { filename: 'a.jpg', data },
        { filename: 'copy.jpg', data },
      ],
    })
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ files: 2, uploaded: 1, skipped: 1, error: null })
    expect(seen[0]!.durationMs).toBeGreaterThan(0)
  })

  it('is told a refused call with its code, and the error still reaches the caller', async () => {
    const seen: UploadObservation[] = []
    const { darkroom } = await makeTestDarkroom({
      observer: { upload: (observation) => void seen.push(observation) },
    })
    await expect(darkroom.photos.upload(alice, { files: [] })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    expect(seen).toMatchObject([{ files: 0, uploaded: 0, skipped: 0, error: 'VALIDATION' }])
  })

  it('changes nothing when it throws', async () => {
    const { darkroom } = await makeTestDarkroom({
      observer: {
        upload: () => {
          throw new Error('broken metrics')
        },
      },
    })
    const data = await makeJpeg({ width: 32, height: 32, seed: 2 })
    const { uploaded } = await darkroom.photos.upload(alice, {
      files: [{ filename: 'a.jpg', data }],
    })
    expect(uploaded).toHaveLength(1)
  })
})

describe('stats()', () => {
  it('counts image work running and waiting for the CPU slots', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let started!: () => void
    const rendering = new Promise<void>((resolve) => (started = resolve))
    const { darkroom } = await makeTestDarkroom({
      config: { concurrency: 1, transforms: { concurrency: 2 } },
      media: {
        renderImage: async (...args) => {
          started()
          await gate
          return defaultMedia.renderImage(...args)
        },
      },
    })
    const idle = {
      cpu: { active: 0, waiting: 0, max: 1 },
      renders: { active: 0, waiting: 0, max: 2, started: 0 },
    }
    expect(darkroom.stats()).toMatchObject(idle)

    const files = await Promise.all(
      [1, 2].map(async (seed) => ({
        filename: `${seed}.jpg`,
        data: await makeJpeg({ width: 32, height: 32, seed }),
      })),
    )
    const done = darkroom.photos.upload(alice, { files })
    await rendering
    // One file renders; the other waits for the only slot once it has been read and probed.
    await expect.poll(() => darkroom.stats().cpu).toEqual({ active: 1, waiting: 1, max: 1 })
    release()
    await done
    // Uploads never take the renders' slots.
    expect(darkroom.stats()).toMatchObject(idle)
  })
})

describe('ingest budgets across callers', () => {
  it('probes inside the CPU limiter: a probe waits while a render holds the only slot', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let started!: () => void
    const rendering = new Promise<void>((resolve) => (started = resolve))
    const slotsDuringProbe: number[] = []
    const { darkroom } = await makeTestDarkroom({
      config: { concurrency: 1 },
      media: {
        probeImage: async (...args) => {
          slotsDuringProbe.push(darkroom.stats().cpu.active)
          return defaultMedia.probeImage(...args)
        },
        renderImage: async (...args) => {
          started()
          await gate
          return defaultMedia.renderImage(...args)
        },
      },
    })
    const first = makeJpeg({ width: 32, height: 32, seed: 21 })
    const one = darkroom.photos.upload(alice, { files: [{ filename: 'a.jpg', data: await first }] })
    await rendering
    // Another caller's file: its probe waits for the slot the render holds.
    const data = await makeJpeg({ width: 32, height: 32, seed: 22 })
    const two = darkroom.photos.upload(makeCaller('bob'), { files: [{ filename: 'b.jpg', data }] })
    await expect.poll(() => darkroom.stats().cpu).toEqual({ active: 1, waiting: 1, max: 1 })
    expect(slotsDuringProbe).toEqual([1])
    release()
    await Promise.all([one, two])
    // Every probe ran holding the slot (and the only one).
    expect(slotsDuringProbe).toEqual([1, 1])
  })

  it('holds decodes to limits.ingestMemoryBytes: a second file waits for memory, then runs', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let renders = 0
    const { darkroom } = await makeTestDarkroom({
      // Two CPU slots, but memory for one 64x64 decode (16 KB) at a time.
      config: { concurrency: 2, limits: { ingestMemoryBytes: 64 * 64 * 4 } },
      media: {
        renderImage: async (...args) => {
          renders++
          await gate
          return defaultMedia.renderImage(...args)
        },
      },
    })
    const files = await Promise.all(
      [31, 32].map(async (seed) => ({
        filename: `${seed}.jpg`,
        data: await makeJpeg({ width: 64, height: 64, seed }),
      })),
    )
    const done = darkroom.photos.upload(alice, { files })
    await expect
      .poll(() => darkroom.stats().decodeMemory)
      .toEqual({ used: 64 * 64 * 4, waiting: 1, total: 64 * 64 * 4 })
    expect(renders).toBe(1)
    release()
    const { uploaded } = await done
    expect(uploaded).toHaveLength(2)
    expect(darkroom.stats().decodeMemory).toEqual({ used: 0, waiting: 0, total: 64 * 64 * 4 })
  })
})
