import { describe, expect, it } from 'vitest'
import { makeCaller, makeJpeg, makeTestDarkroom } from '../testing/index.js'

const alice = makeCaller('alice')
const admin = makeCaller('root', ['admin'])

async function profilePicture(hard: boolean) {
  const test = await makeTestDarkroom()
  const { uploaded } = await test.darkroom.photos.upload(alice, {
    setProfilePicture: true,
    files: [{ filename: 'me.jpg', data: await makeJpeg({ width: 32, height: 32, seed: 41 }) }],
  })
  const id = uploaded[0]!.id
  expect((await test.darkroom.owners.me(alice)).profilePhotoId).toBe(id)
  return { ...test, id, hard }
}

describe('owners', () => {
  it.each([false, true])(
    'the profile picture stops pointing at a deleted photo (hard: %s)',
    async (hard) => {
      const { darkroom, id } = await profilePicture(hard)
      await darkroom.photos.delete(alice, { id, hard })
      expect((await darkroom.owners.me(alice)).profilePhotoId).toBeNull()
    },
  )

  it('the profile picture stops pointing at a photo trashed by bulkDelete', async () => {
    const { darkroom, id } = await profilePicture(false)
    await darkroom.photos.bulkDelete(alice, { ids: [id] })
    expect((await darkroom.owners.me(alice)).profilePhotoId).toBeNull()
    // Restoring the photo does not make it the profile picture again.
    await darkroom.photos.restore(alice, { id })
    expect((await darkroom.owners.me(alice)).profilePhotoId).toBeNull()
  })

  it('setQuota (admin) answers the owner as me would', async () => {
    const { darkroom } = await makeTestDarkroom({ config: { limits: { defaultQuotaBytes: 1000 } } })
    expect(await darkroom.owners.setQuota(admin, { ownerId: 'alice', quotaBytes: 5000 })).toEqual({
      ownerId: 'alice',
      quotaBytes: 5000,
      usedBytes: 0,
      profilePhotoId: null,
    })
    expect(await darkroom.owners.me(alice)).toMatchObject({ quotaBytes: 5000 })
    expect(
      await darkroom.owners.setQuota(admin, { ownerId: 'alice', quotaBytes: null }),
    ).toMatchObject({ quotaBytes: 1000 })
    await expect(
      darkroom.owners.setQuota(alice, { ownerId: 'alice', quotaBytes: 1 }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' })
    await expect(
      darkroom.owners.setQuota(admin, { ownerId: '', quotaBytes: 1 }),
    ).rejects.toMatchObject({ code: 'VALIDATION', violations: [{ property: 'ownerId' }] })
  })
})
