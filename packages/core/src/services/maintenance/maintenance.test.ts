import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../darkroom.js'
import {
  makeCaller,
  makeJpeg,
  makeTestDarkroom,
  photosOf,
  type TestDarkroom,
} from '../../testing/index.js'

const alice = makeCaller('alice')
const DAY = 24 * 60 * 60 * 1000

async function upload(test: TestDarkroom, n: number, options: { profile?: boolean } = {}) {
  const files = await Promise.all(
    Array.from({ length: n }, async (_, i) => ({
      filename: `${i}.jpg`,
      data: await makeJpeg({ width: 32, height: 24, seed: 500 + i }),
    })),
  )
  const uploaded = photosOf(
    await test.darkroom.photos.upload(alice, {
      files,
      setProfilePicture: options.profile ?? false,
    }),
  )
  return uploaded.sort((a, b) => a.index - b.index)
}

async function blobCount(test: TestDarkroom, id: string): Promise<number> {
  let n = 0
  for await (const _ of test.blobs.list(`photos/${id}/`)) n++
  return n
}

describe('maintenance.purgeTrash', () => {
  it('keeps the trash 30 days by default (trash.retentionMs)', () => {
    expect(parseConfig({}).trash.retentionMs).toBe(30 * DAY)
    expect(parseConfig({ trash: { retentionMs: DAY } }).trash.retentionMs).toBe(DAY)
    expect(() => parseConfig({ trash: { retentionMs: 0 } })).toThrow(/trash\.retentionMs/)
  })

  it('hard-deletes photos trashed longer than the retention: rows, then blobs, one event each', async () => {
    const test = await makeTestDarkroom({ config: { trash: { retentionMs: 10 * DAY } } })
    const { darkroom, clock } = test
    const [old, older, recent, restored, live] = await upload(test, 5)
    const usedBefore = (await darkroom.owners.me(alice)).usedBytes
    await darkroom.photos.bulkDelete(alice, { ids: [older!.id, old!.id, restored!.id] })
    clock.advance(5 * DAY)
    await darkroom.photos.delete(alice, { id: recent!.id })
    await darkroom.photos.restore(alice, { id: restored!.id })
    clock.advance(6 * DAY) // 11 days since the first deletes, 6 since `recent`
    test.events.length = 0

    expect(await darkroom.maintenance.purgeTrash()).toEqual({ purged: 2 })

    for (const gone of [old!, older!]) {
      await expect(darkroom.photos.get(alice, { id: gone.id })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      })
      expect(await blobCount(test, gone.id)).toBe(0)
    }
    const trash = await darkroom.photos.list(alice, { trashed: true })
    expect(trash.items.map((p) => p.id)).toEqual([recent!.id])
    for (const stays of [recent!, restored!, live!]) {
      expect(await blobCount(test, stays.id)).toBeGreaterThan(0)
    }
    expect(test.events.map((e) => [e.type, e.subjectId, e.data.reason]).sort()).toEqual(
      [
        ['photo.deleted', old!.id, 'trash_expired'],
        ['photo.deleted', older!.id, 'trash_expired'],
      ].sort(),
    )
    expect(test.events[0]!.data).toMatchObject({
      hard: true,
      photo: { deletedAt: expect.any(String) },
    })
    expect((await darkroom.owners.me(alice)).usedBytes).toBe(usedBefore - old!.size - older!.size)

    expect(await darkroom.maintenance.purgeTrash()).toEqual({ purged: 0 })
    // An explicit age: everything in the trash for at least a day.
    expect(await darkroom.maintenance.purgeTrash({ olderThanMs: DAY })).toEqual({ purged: 1 })
    expect((await darkroom.photos.list(alice, { trashed: true })).items).toEqual([])
  })

  it('clears the profile picture of a purged photo', async () => {
    const test = await makeTestDarkroom()
    const [photo] = await upload(test, 1, { profile: true })
    await test.store.updatePhoto(photo!.id, { deletedAt: test.clock.now() })
    await test.store.upsertOwner({ ownerId: 'alice', quotaBytes: null, profilePhotoId: photo!.id })
    test.clock.advance(31 * DAY)
    expect(await test.darkroom.maintenance.purgeTrash()).toEqual({ purged: 1 })
    expect((await test.darkroom.owners.me(alice)).profilePhotoId).toBeNull()
  })
})
