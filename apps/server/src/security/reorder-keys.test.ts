import { asPhoto, makeJpeg } from '@darkroom/core/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startServer, uploadForm, type TestServer } from '../testing/harness.js'

/**
 * Position keys under adversarial reorders: moving two photos in turn right after the same photo
 * narrows one gap forever, and fractional keys there grew without bound (336 characters after
 * 2,000 moves). Past `MAX_POSITION_LENGTH` (32) the reorder re-spaces a window of neighbours
 * instead, in the same transaction, and the order stays exactly what the moves asked for.
 */

let server: TestServer
let alice: string
beforeAll(async () => {
  server = await startServer({ env: { RATE_LIMIT_UPLOADS_PER_MINUTE: '0' } })
  alice = await server.key('alice')
})
afterAll(() => server?.close())

it('2,000 moves into one gap keep every key within 32 characters, in the asked order', async () => {
  const client = server.client(alice)
  const album = await client.albums.create.mutate({ title: 'ordered' })
  const files = await Promise.all(
    Array.from({ length: 12 }, async (_, i) => ({
      name: `p${i}.jpg`,
      data: await makeJpeg({ width: 16, height: 12, seed: 900 + i }),
    })),
  )
  const { uploaded } = await client.photos.upload.mutate(uploadForm(files, { albumId: album.id }))
  const model = [...uploaded].sort((a, b) => a.index - b.index).map((p) => p.id)
  const [first, x, y] = [model[0]!, model[5]!, model[6]!]
  let longest = 0
  for (let i = 0; i < 2000; i++) {
    const id = i % 2 === 0 ? x : y
    const moved = await client.photos.reorder.mutate({ id, after: first })
    longest = Math.max(longest, asPhoto(moved).position.length)
    model.splice(model.indexOf(id), 1)
    model.splice(1, 0, id)
  }
  const listed = await client.photos.list.query({ albumId: album.id, sort: 'position', limit: 200 })
  console.info(`2,000 adversarial reorders: longest key ${longest} characters`)
  expect(listed.items.map((p) => p.id)).toEqual(model)
  expect(longest).toBeLessThanOrEqual(32)
  expect(Math.max(...listed.items.map((p) => p.position.length))).toBeLessThanOrEqual(32)
}, 120_000)
