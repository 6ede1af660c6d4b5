import { describe, expect, it } from 'vitest'
import { explain } from './errors.js'
import { SerialUrlStorage } from './url-storage.js'

/** The queue and the ELOCKED retries around tus-js-client's URL store, and the ELOCKED line. */

type Inner = ConstructorParameters<typeof SerialUrlStorage>[0]
const locked = () =>
  Object.assign(new Error('Lock file is already being held'), {
    code: 'ELOCKED',
    file: '/photos/.darkroom-upload-state.json',
  })

function fakeStorage(failures: number) {
  let active = 0
  let maxActive = 0
  let calls = 0
  const inner: Inner = {
    findAllUploads: async () => [],
    findUploadsByFingerprint: async () => [],
    removeUpload: async () => {},
    async addUpload(fingerprint) {
      calls++
      active++
      maxActive = Math.max(maxActive, active)
      await new Promise((resolve) => setTimeout(resolve, 2))
      active--
      if (calls <= failures) throw locked()
      return `tus::${fingerprint}::1`
    },
  }
  return { inner, stats: () => ({ calls, maxActive }) }
}
const upload = {
  size: 1,
  metadata: {},
  creationTime: '',
  urlStorageKey: '',
  uploadUrl: null,
  parallelUploadUrls: null,
}
const noSleep = async () => {}

describe('SerialUrlStorage', () => {
  it('runs one operation at a time', async () => {
    const { inner, stats } = fakeStorage(0)
    const storage = new SerialUrlStorage(inner, noSleep)
    const keys = await Promise.all(
      Array.from({ length: 16 }, (_, i) => storage.addUpload(`f${i}`, upload)),
    )
    expect(keys).toHaveLength(16)
    expect(stats()).toEqual({ calls: 16, maxActive: 1 })
  })

  it('waits out a lock held elsewhere, then gives up with ELOCKED', async () => {
    const brief = fakeStorage(3)
    expect(await new SerialUrlStorage(brief.inner, noSleep).addUpload('f', upload)).toBe(
      'tus::f::1',
    )
    expect(brief.stats().calls).toBe(4)

    const forever = fakeStorage(Infinity)
    const storage = new SerialUrlStorage(forever.inner, noSleep)
    await expect(storage.addUpload('f', upload)).rejects.toMatchObject({ code: 'ELOCKED' })
    // The queue goes on after a failure.
    expect(await storage.findAllUploads()).toEqual([])
  })
})

describe('explain(ELOCKED)', () => {
  it('is one line naming the file and the likely cause', () => {
    const { message, exitCode } = explain(locked(), 'http://127.0.0.1:3000')
    expect(exitCode).toBe(1)
    expect(message).toBe(
      '/photos/.darkroom-upload-state.json is locked by another process (ELOCKED): ' +
        'is another upload of this folder running? Run this again when it has finished.',
    )
  })
})
