import type { Photo } from '@darkroom/core'
import { asPhoto, makeJpeg } from '@darkroom/core/testing'
import { signUrl } from '@darkroom/http'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, uploadForm, type TestServer } from '../testing/harness.js'

/**
 * The watermark on the real server, from `WATERMARK_TEXT` to the bytes: with a watermark
 * configured, the unmarked renditions of a public photo are its owner's (their key or a URL they
 * signed), the watermarked variants are anyone's, and their pixels are not the unmarked ones.
 */

let server: TestServer
let aliceKey: string
let bobKey: string
let original: Buffer
let open: Photo
let closed: Photo
const auth = (key: string) => ({ authorization: `Bearer ${key}` })
const NO_SUCH_PHOTO = '01900000-0000-7000-8000-000000000000'

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${path}`, { headers })
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) }
}

/** The unmarked renditions' paths of a photo (every `/photos` variant and a large transform). */
function unmarked(photo: Photo): string[] {
  const { original: o, large, medium, small } = photo.variants
  return [o, large!, medium!, small!, `/image/${photo.id}.jpg?w=4096`, `/image/${photo.id}.auto`]
}

beforeAll(async () => {
  server = await startServer({ env: { WATERMARK_TEXT: 'PROOF ONLY', WATERMARK_OPACITY: '0.9' } })
  aliceKey = await server.key('alice')
  bobKey = await server.key('bob')
  const alice = server.client(aliceKey)
  original = await makeJpeg({ width: 1600, height: 1200, seed: 911 })
  const { uploaded } = await alice.photos.upload.mutate(
    uploadForm([
      { name: 'public.jpg', data: original },
      { name: 'private.jpg', data: await makeJpeg({ width: 800, height: 600, seed: 912 }) },
    ]),
  )
  open = asPhoto(await alice.photos.update.mutate({ id: uploaded[0]!.id, isPublic: true }))
  closed = await alice.photos.get.query({ id: uploaded[1]!.id })
})
afterAll(() => server.close())

describe('unmarked renditions with a watermark configured', () => {
  it('are served to the owner', async () => {
    const got = await get(open.variants.original, auth(aliceKey))
    expect(got.status).toBe(200)
    expect(got.body.equals(original)).toBe(true)
    for (const path of unmarked(open).slice(1)) {
      expect((await get(path, auth(aliceKey))).status, path).toBe(200)
    }
  })

  it('are refused (403) to anyone else, even for a public photo', async () => {
    for (const path of unmarked(open)) {
      const anonymous = await get(path)
      expect(anonymous.status, path).toBe(403)
      expect(JSON.parse(anonymous.body.toString()).error.code).toBe('FORBIDDEN')
      expect((await get(path, auth(bobKey))).status, path).toBe(403)
    }
  })

  it('answer the same for a public, a private and a missing photo', async () => {
    const bodyOf = async (photo: Photo | string) => {
      const id = typeof photo === 'string' ? photo : photo.id
      const got = await get(`/photos/${id}/original.jpg`)
      return { status: got.status, body: got.body.toString().replace(id, '<id>') }
    }
    const answer = await bodyOf(open)
    expect(await bodyOf(closed)).toEqual(answer)
    expect(await bodyOf(NO_SUCH_PHOTO)).toEqual(answer)
  })

  it('are served through a URL the owner signed', async () => {
    const secret = server.app.signingSecret
    const until = new Date(Date.now() + 60_000)
    const signed = await get(signUrl(secret, open.variants.original, {}, until))
    expect(signed.status).toBe(200)
    expect(signed.body.equals(original)).toBe(true)
    const transform = await get(signUrl(secret, `/image/${open.id}.jpg`, { w: 4096 }, until))
    expect(transform.status).toBe(200)
    expect((await sharp(transform.body).metadata()).width).toBe(1600)
  })
})

describe('watermarked variants', () => {
  it("are anyone's for a public photo, and only the owner's for a private one", async () => {
    for (const name of ['watermark', 'watermarkSmall'] as const) {
      const path = open.variants[name]!
      expect(path).toMatch(new RegExp(`^/photos/${open.id}/${name}\\.webp$`))
      const got = await get(path)
      expect(got.status, path).toBe(200)
      expect((await sharp(got.body).metadata()).format).toBe('webp')
      expect((await get(closed.variants[name]!)).status).toBe(404)
      expect((await get(closed.variants[name]!, auth(aliceKey))).status).toBe(200)
    }
  })

  it('carry the watermark: their pixels differ from the unmarked ones', async () => {
    const pixels = async (buffer: Buffer) =>
      sharp(buffer).raw().toBuffer({ resolveWithObject: true })
    const marked = await pixels((await get(open.variants.watermark!)).body)
    const plain = await pixels((await get(open.variants.medium!, auth(aliceKey))).body)
    expect([marked.info.width, marked.info.height]).toEqual([plain.info.width, plain.info.height])
    let changed = 0
    for (let i = 0; i < plain.data.length; i += plain.info.channels) {
      const delta = Math.max(
        ...[0, 1, 2].map((c) => Math.abs(marked.data[i + c]! - plain.data[i + c]!)),
      )
      if (delta > 48) changed++
    }
    // The text covers a strip along the bottom edge: well over 0.5% of the pixels, not all.
    const share = changed / (plain.info.width * plain.info.height)
    expect(share).toBeGreaterThan(0.005)
    expect(share).toBeLessThan(0.5)
  })
})
