import { describe, expect, it } from 'vitest'
import { asPhoto } from '@darkroom/core/testing'
import { failure, jpeg, makeHarness, uploadForm } from '../internal/harness.test-utils.js'

describe('owners', () => {
  it('me: the caller own id, quota, use and profile picture', async () => {
    const h = await makeHarness({}, { config: { limits: { defaultQuotaBytes: 10_000_000 } } })
    expect(await h.alice.owners.me()).toEqual({
      ownerId: 'alice',
      quotaBytes: 10_000_000,
      usedBytes: 0,
      profilePhotoId: null,
    })
    const { uploaded } = await h.alice.photos.upload(
      uploadForm([{ name: 'me.jpg', bytes: await jpeg() }], { setProfilePicture: 'true' }),
    )
    expect(await h.alice.owners.me()).toEqual({
      ownerId: 'alice',
      quotaBytes: 10_000_000,
      usedBytes: asPhoto(uploaded[0]!).size,
      profilePhotoId: uploaded[0]!.id,
    })
    expect(await h.bob.owners.me()).toMatchObject({ ownerId: 'bob', usedBytes: 0 })
    expect((await failure(h, h.anonymous.owners.me())).error.code).toBe('UNAUTHORIZED')

    // Deleting the profile picture (to the trash) clears it.
    await h.alice.photos.delete({ id: uploaded[0]!.id })
    expect((await h.alice.owners.me()).profilePhotoId).toBeNull()
  })

  it('setQuota: admins only; the answer is the owner as me shows it', async () => {
    const h = await makeHarness()
    expect(await h.admin.owners.setQuota({ ownerId: 'alice', quotaBytes: 2048 })).toEqual({
      ownerId: 'alice',
      quotaBytes: 2048,
      usedBytes: 0,
      profilePhotoId: null,
    })
    expect((await h.alice.owners.me()).quotaBytes).toBe(2048)
    const forbidden = await failure(h, h.alice.owners.setQuota({ ownerId: 'alice', quotaBytes: 1 }))
    expect(forbidden.error.code).toBe('FORBIDDEN')
    expect((await h.admin.owners.setQuota({ ownerId: 'alice', quotaBytes: null })).quotaBytes).toBe(
      null,
    )
  })

  it('refuses unknown keys and bad values, naming the property', async () => {
    const h = await makeHarness()
    const unknown = await failure(
      h,
      h.admin.owners.setQuota({ ownerId: 'alice', quotaBytes: 1, quota: 2 } as never),
    )
    expect(unknown.shape.data.darkroom?.code).toBe('VALIDATION')
    expect(unknown.shape.data.darkroom?.violations).toEqual([
      expect.objectContaining({ property: 'quota' }),
    ])
    const negative = await failure(h, h.admin.owners.setQuota({ ownerId: 'alice', quotaBytes: -1 }))
    expect(negative.shape.data.darkroom?.violations).toEqual([
      expect.objectContaining({ property: 'quotaBytes' }),
    ])
    const meUnknown = await failure(h, h.alice.owners.me({ ownerId: 'bob' } as never))
    expect(meUnknown.shape.data.darkroom?.violations).toEqual([
      expect.objectContaining({ property: 'ownerId' }),
    ])
  })
})
