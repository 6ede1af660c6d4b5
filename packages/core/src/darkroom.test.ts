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
    expect(darkroom.stats()).toEqual(idle)

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
    expect(darkroom.stats()).toEqual(idle)
  })
})
