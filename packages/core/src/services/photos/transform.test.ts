import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { makeCaller, makeTestDarkroom } from '../../testing/harness.js'
import { makeJpeg } from '../../testing/images.js'
import { MAX_AVIF_EDGE, MAX_TRANSFORM_EDGE, outputBox } from './transform.js'

/**
 * `photos.transform`: the rendition's edge is bounded whatever is asked (4096, AVIF 2560), a PNG
 * is quantised only when a quality is asked for, renders take their own slots (never ingest's),
 * and an abandoned render does no image work.
 */

const alice = makeCaller('alice')

async function withPhoto(width: number, height: number, transforms = { concurrency: 1 }) {
  const test = await makeTestDarkroom({ config: { concurrency: 1, transforms } })
  const { uploaded } = await test.darkroom.photos.upload(alice, {
    files: [{ filename: 'p.jpg', data: await makeJpeg({ width, height, seed: 7 }) }],
  })
  return { ...test, id: uploaded[0]!.id }
}

describe('outputBox', () => {
  it('bounds every rendition to 4096 px and AVIF to 2560 px, keeping a crop`s aspect', () => {
    expect(outputBox({ format: 'jpeg' })).toEqual({
      width: MAX_TRANSFORM_EDGE,
      height: MAX_TRANSFORM_EDGE,
      fit: 'inside',
    })
    expect(outputBox({ format: 'avif', width: 4000 })).toEqual({
      width: MAX_AVIF_EDGE,
      height: MAX_AVIF_EDGE,
      fit: 'inside',
    })
    expect(outputBox({ format: 'avif', width: 4000, height: 2000, crop: true })).toEqual({
      width: 2560,
      height: 1280,
      fit: 'cover',
    })
    expect(outputBox({ format: 'webp', width: 300, crop: true })).toEqual({
      width: 300,
      height: MAX_TRANSFORM_EDGE,
      fit: 'inside',
    })
  })
})

describe('photos.transform', () => {
  it('renders AVIF at most 2560 px on its long edge, whatever is asked', async () => {
    const { darkroom, id } = await withPhoto(3000, 1500)
    const plan = await darkroom.photos.transform(alice, { id, format: 'avif', width: 4096 })
    const out = await plan.render()
    expect([out.width, out.height]).toEqual([2560, 1280])
    const whole = await (await darkroom.photos.transform(alice, { id, format: 'jpeg' })).render()
    expect([whole.width, whole.height]).toEqual([3000, 1500])
  })

  it('writes a lossless PNG unless a quality is asked for (then a palette)', async () => {
    const { darkroom, id } = await withPhoto(320, 240)
    const lossless = await (
      await darkroom.photos.transform(alice, { id, format: 'png', width: 160 })
    ).render()
    expect((await sharp(lossless.data).metadata()).isPalette).toBe(false)
    const quantised = await (
      await darkroom.photos.transform(alice, { id, format: 'png', width: 160, quality: 50 })
    ).render()
    expect((await sharp(quantised.data).metadata()).isPalette).toBe(true)
  })

  it('renders in its own slots, counted, never in ingest`s', async () => {
    const { darkroom, id } = await withPhoto(320, 240, { concurrency: 2 })
    expect(darkroom.stats().renders).toEqual({ active: 0, waiting: 0, max: 2, started: 0 })
    const plans = await Promise.all(
      [64, 96, 128].map((width) => darkroom.photos.transform(alice, { id, format: 'webp', width })),
    )
    const rendering = Promise.all(plans.map((plan) => plan.render()))
    expect(darkroom.stats().cpu.active).toBe(0)
    await rendering
    expect(darkroom.stats().renders).toMatchObject({ active: 0, waiting: 0, started: 3 })
  })

  it('does no image work for a render abandoned before it starts', async () => {
    const { darkroom, id } = await withPhoto(320, 240)
    const plan = await darkroom.photos.transform(alice, { id, format: 'jpeg', width: 64 })
    const controller = new AbortController()
    controller.abort(new Error('client gone'))
    await expect(plan.render({ signal: controller.signal })).rejects.toThrow('client gone')
    // Aborted while it waits for the only slot: it never starts either.
    const busy = plan.render()
    const waiting = new AbortController()
    const queued = plan.render({ signal: waiting.signal })
    waiting.abort(new Error('gone too'))
    await busy
    await expect(queued).rejects.toThrow('gone too')
    expect(darkroom.stats().renders.started).toBe(1)
  })
})
