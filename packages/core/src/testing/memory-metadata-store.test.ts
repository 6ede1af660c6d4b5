import { describe, expect, it } from 'vitest'
import type { MetadataOps } from '../ports/metadata-store.js'
import { makePhotoRecord } from './builders.js'
import { MemoryMetadataStore } from './memory-metadata-store.js'

// What the contract suite (packages/storage) cannot see: isolation and misuse.
describe('MemoryMetadataStore specifics', () => {
  it('readers outside a transaction see only committed rows', async () => {
    const store = new MemoryMetadataStore()
    const photo = makePhotoRecord()
    let inserted!: () => void
    let release!: () => void
    const ready = new Promise<void>((resolve) => (inserted = resolve))
    const held = new Promise<void>((resolve) => (release = resolve))
    const tx = store.transaction(async (t) => {
      await t.insertPhoto(photo)
      inserted()
      await held
    })
    await ready
    expect(await store.getPhoto(photo.id)).toBeNull()
    release()
    await tx
    expect(await store.getPhoto(photo.id)).toEqual(photo)
  })

  it('throws instead of waiting forever when the store is used inside a transaction', async () => {
    const store = new MemoryMetadataStore()
    await expect(
      store.transaction(async () => {
        await store.insertPhoto(makePhotoRecord())
      }),
    ).rejects.toThrow(/use the tx/)
    await expect(store.transaction(() => store.transaction(async () => 1))).rejects.toThrow(
      /use the tx/,
    )
  })

  it('refuses a tx used after its transaction ended', async () => {
    const store = new MemoryMetadataStore()
    let leaked!: MetadataOps
    await store.transaction(async (tx) => {
      leaked = tx
    })
    await expect(leaked.insertPhoto(makePhotoRecord())).rejects.toThrow(/ended/)
  })

  it('refuses calls after close', async () => {
    const store = new MemoryMetadataStore()
    await store.close()
    await expect(store.getPhoto('x')).rejects.toThrow(/closed/)
  })
})
