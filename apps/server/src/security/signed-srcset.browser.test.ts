import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeJpeg } from '@darkroom/core/testing'
import { chromium, type BrowserContext } from 'playwright-core'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, uploadForm, type TestServer } from '../testing/harness.js'

/**
 * A private photo in a real `<img srcset>` (Debian's chromium through playwright-core): the page
 * holds no credentials and no cookie, only the URLs `photos.signUrls` minted; the browser picks
 * the rung its viewport and pixel density call for, and gets it.
 */

const CHROMIUM = '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) console.warn(`${CHROMIUM} not found: signed srcset browser test skipped`)

describe.skipIf(!hasChromium)('a signed srcset in chromium', () => {
  let server: TestServer
  let context: BrowserContext
  let profile: string
  let photoId: string
  let key: string

  beforeAll(async () => {
    server = await startServer()
    key = await server.key('alice')
    const { uploaded } = await server
      .client(key)
      .photos.upload.mutate(
        uploadForm([
          { name: 'p.jpg', data: await makeJpeg({ width: 2000, height: 1500, seed: 1610 }) },
        ]),
      )
    photoId = uploaded[0]!.id
    profile = await mkdtemp(join(tmpdir(), 'darkroom-chromium-'))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      viewport: { width: 400, height: 800 },
      deviceScaleFactor: 2,
    })
  }, 60_000)

  afterAll(async () => {
    await context?.close()
    await server?.close()
    if (profile) await rm(profile, { recursive: true, force: true })
  })

  it('loads the rung a 400 px, 2x viewport needs (828), as AVIF, without credentials', async () => {
    const signed = await server.client(key).photos.signUrls.query({ id: photoId, sizes: '100vw' })
    const absolute = (srcset: string) => srcset.replaceAll('/image/', `${server.url}/image/`)
    const page = context.pages()[0] ?? (await context.newPage())
    const answers: { url: string; status: number; type: string | null }[] = []
    page.on('response', (r) =>
      answers.push({ url: r.url(), status: r.status(), type: r.headers()['content-type'] ?? null }),
    )
    // The server's own origin, with no cookie and no Authorization header.
    await page.goto(`${server.url}/healthz`)
    const tampered = absolute(signed.srcset).replaceAll('w=828&', 'w=829&')
    await page.setContent(
      `<img id="ok" srcset="${absolute(signed.srcset)}" sizes="${signed.sizes}" src="${server.url}${signed.src}">` +
        `<img id="bad" srcset="${tampered}" sizes="100vw">`,
    )
    // Page code as strings: this package's TypeScript has no DOM types.
    await page.waitForFunction('[...document.images].every((img) => img.complete)')
    const ok = await page.evaluate<{ width: number; src: string }>(
      '({ width: ok.naturalWidth, src: ok.currentSrc })',
    )
    // Chromium picks 828w for 400 CSS px at 2x; naturalWidth is in CSS px (828 / density).
    expect(ok.src).toContain('w=828&')
    expect(ok.width).toBe(400)
    const fetched = answers.find((a) => a.url === ok.src)!
    expect([fetched.status, fetched.type]).toEqual([200, 'image/avif'])
    const bytes = Buffer.from(
      await (await fetch(ok.src, { headers: { accept: 'image/avif' } })).arrayBuffer(),
    )
    expect((await sharp(bytes).metadata()).width).toBe(828)
    const bad = await page.evaluate<number>('bad.naturalWidth')
    expect(bad).toBe(0)
    expect(answers.find((a) => a.url.includes('w=829&'))?.status).toBe(403)
  }, 60_000)
})
