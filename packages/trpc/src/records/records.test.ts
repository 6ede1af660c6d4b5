import { makeCaller } from '@darkroom/core/testing'
import { describe, expect, it } from 'vitest'
import { failure, makeHarness } from '../internal/harness.test-utils.js'

describe('webhooks.create / list / delete', () => {
  it('returns the secret once, lists without it, deletes own ones only', async () => {
    const h = await makeHarness()
    const created = await h.alice.webhooks.create({
      url: 'https://hooks.example.com/darkroom',
      events: ['photo.uploaded', 'photo.deleted'],
    })
    expect(created.secret).toMatch(/^whsec_[0-9A-Za-z]{32}$/)
    expect(created.webhook).toEqual({
      id: expect.any(String),
      ownerId: 'alice',
      url: 'https://hooks.example.com/darkroom',
      events: ['photo.uploaded', 'photo.deleted'],
      createdAt: h.clock.now().toISOString(),
    })
    const listed = await h.alice.webhooks.list()
    expect(listed).toEqual([created.webhook])
    expect(JSON.stringify(listed)).not.toContain(created.secret)
    expect(await h.bob.webhooks.list()).toEqual([])
    expect((await h.serverStore.getWebhook(created.webhook.id))?.secret).toBe(created.secret)

    const notBobs = await failure(h, h.bob.webhooks.delete({ id: created.webhook.id }))
    expect(notBobs.error.code).toBe('NOT_FOUND')
    expect(await h.alice.webhooks.delete({ id: created.webhook.id })).toEqual({
      id: created.webhook.id,
    })
    expect(await h.alice.webhooks.list()).toEqual([])
  })

  it('takes http and https URLs only, and known event types', async () => {
    const h = await makeHarness()
    expect(
      (await h.alice.webhooks.create({ url: 'https://hooks.example.com/x' })).webhook.events,
    ).toEqual([])
    for (const url of ['ftp://example.com/x', 'javascript:alert(1)', 'not a url', '/relative']) {
      const { error, shape } = await failure(h, h.alice.webhooks.create({ url }))
      expect(error.code).toBe('UNPROCESSABLE_CONTENT')
      expect(shape.data.darkroom?.violations).toEqual([
        expect.objectContaining({ property: 'url' }),
      ])
    }
    const creds = await failure(h, h.alice.webhooks.create({ url: 'https://u:p@example.com/' }))
    expect(creds.shape.data.darkroom?.violations[0]?.message).toContain('credentials')
    const event = await failure(
      h,
      h.alice.webhooks.create({ url: 'https://e.com', events: ['photo.exploded' as never] }),
    )
    expect(event.shape.data.darkroom?.violations[0]?.property).toBe('events[0]')
  })

  it('listing needs photos.read; creating and deleting need photos.write', async () => {
    const h = await makeHarness()
    const writer = h.as(makeCaller('alice', ['photos.write']))
    expect((await failure(h, writer.webhooks.list())).error.code).toBe('FORBIDDEN')
    const reader = h.as(makeCaller('alice', ['photos.read']))
    const { error } = await failure(h, reader.webhooks.create({ url: 'https://e.com' }))
    expect(error.code).toBe('FORBIDDEN')
    const { webhook } = await h.alice.webhooks.create({ url: 'https://e.com/hook' })
    const denied = await failure(h, reader.webhooks.delete({ id: webhook.id }))
    expect(denied.error.code).toBe('FORBIDDEN')
    expect(await h.alice.webhooks.list()).toHaveLength(1)
  })

  it('queues deliveries for the owner’s events (the server delivers them)', async () => {
    const h = await makeHarness()
    const { webhook } = await h.alice.webhooks.create({ url: 'https://e.com/hook' })
    await h.alice.albums.create({ title: 'x' })
    expect(await h.serverStore.enqueueDeliveries(h.events, h.clock.now())).toBe(1)
    expect(await h.serverStore.listDeliveries(webhook.id, 10)).toHaveLength(1)
  })
})

describe('uploads.status', () => {
  it('returns the caller’s upload; someone else’s or a missing one is NOT_FOUND', async () => {
    const h = await makeHarness()
    const at = h.clock.now()
    await h.serverStore.saveUpload({
      id: 'tus-1',
      ownerId: 'alice',
      state: 'failed',
      filename: 'big.heic',
      size: 123,
      albumId: null,
      photoId: null,
      error: 'The file is too large (2.14 MB). Allowed maximum size is 1 MB.',
      createdAt: at,
      updatedAt: at,
    })
    expect(await h.alice.uploads.status({ id: 'tus-1' })).toEqual({
      id: 'tus-1',
      state: 'failed',
      filename: 'big.heic',
      size: 123,
      albumId: null,
      photoId: null,
      error: 'The file is too large (2.14 MB). Allowed maximum size is 1 MB.',
      createdAt: at.toISOString(),
      updatedAt: at.toISOString(),
    })
    expect((await failure(h, h.bob.uploads.status({ id: 'tus-1' }))).error.code).toBe('NOT_FOUND')
    expect((await failure(h, h.alice.uploads.status({ id: 'tus-2' }))).error.code).toBe('NOT_FOUND')
    expect((await failure(h, h.anonymous.uploads.status({ id: 'tus-1' }))).error.code).toBe(
      'UNAUTHORIZED',
    )
  })
})
