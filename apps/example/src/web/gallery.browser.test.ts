import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { makeJpeg } from '@darkroom/core/testing'
import { createSignInCode, hashApiKey } from '@darkroom/trpc'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  makeNoiseJpeg,
  PDF_BYTES,
  startServer,
  uploadForm,
  type TestServer,
} from '../../../server/src/testing/harness.js'
import { loadCorpus } from '../../../../packages/core/src/testing/corpus.js'

/**
 * The web gallery in a real browser (Debian's chromium through playwright-core) against a real
 * server on 127.0.0.1 serving the built page: sign in, create an album with a cap, upload three
 * photos through the page's file input (tus), see their thumbnails load, reorder by mouse drag
 * and by keyboard and find the order kept after a reload and in `photos.list`, open the detail
 * view, hide one, see a PDF refused by name, and look at it on a phone. Screenshots go to
 * `test-artifacts/` at the repo root.
 */

const CHROMIUM = '/usr/bin/chromium'
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const exampleDir = here('../../')
const galleryDir = join(exampleDir, 'dist', 'web')
const artifacts = here('../../../../test-artifacts/')
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) console.warn(`${CHROMIUM} not found: web gallery browser tests skipped`)

/** Builds the gallery when its build is missing or older than any of its sources. */
async function ensureGalleryBuilt(): Promise<void> {
  const index = join(galleryDir, 'index.html')
  const built = existsSync(index) ? (await stat(index)).mtimeMs : 0
  const sources = [
    ...(await filesUnder(join(exampleDir, 'web'))),
    join(exampleDir, 'vite.config.ts'),
    join(exampleDir, 'src', 'client.ts'),
  ]
  const newest = Math.max(...(await Promise.all(sources.map(async (f) => (await stat(f)).mtimeMs))))
  if (built >= newest) return
  const { build } = await import('vite')
  // Vitest runs with NODE_ENV=test, which would give React's development build.
  const nodeEnv = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  try {
    await build({
      configFile: join(exampleDir, 'vite.config.ts'),
      mode: 'production',
      logLevel: 'warn',
    })
  } finally {
    process.env.NODE_ENV = nodeEnv
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}

interface TestFile {
  name: string
  mimeType: string
  buffer: Buffer
}

/** Three JPEGs: from the corpus (one with GPS) when it is there, else made with sharp. */
async function threePhotos(): Promise<TestFile[]> {
  const corpus = loadCorpus()
  const wanted = [
    'exifr/issue-exifr-13.jpg',
    'exif-samples/jpg/Canon_PowerShot_S40.jpg',
    'exif-samples/jpg/tests/32-lens_data.jpeg',
  ]
  const entries = corpus?.entries.filter((e) => wanted.includes(e.path)) ?? []
  if (corpus && entries.length === wanted.length) {
    return Promise.all(
      entries.map(async (e) => ({
        name: e.path.split('/').pop()!,
        mimeType: 'image/jpeg',
        buffer: await readFile(join(corpus.dir, e.path)),
      })),
    )
  }
  return Promise.all(
    [1, 2, 3].map(async (n) => ({
      name: `made-${n}.jpg`,
      mimeType: 'image/jpeg',
      buffer: await makeJpeg({ width: 400 + n * 40, height: 300, seed: 700 + n }),
    })),
  )
}

describe.skipIf(!hasChromium)('web gallery in chromium', () => {
  let server: TestServer
  let key: string
  let context: BrowserContext
  let page: Page
  let profile: string
  let albumId: string
  let photos: TestFile[]
  const problems: string[] = []

  const tileIds = () =>
    page
      .locator('.grid > li')
      .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-photo-id')!))
  const listedIds = async () =>
    (
      await server.client(key).photos.list.query({ albumId, sort: 'position', limit: 50 })
    ).items.map((p) => p.id)
  const shot = (name: string) => page.screenshot({ path: join(artifacts, name), fullPage: true })

  beforeAll(async () => {
    await Promise.all([ensureGalleryBuilt(), mkdir(artifacts, { recursive: true })])
    photos = await threePhotos()
    server = await startServer({ env: { GALLERY_DIR: galleryDir } })
    key = await server.key('gallery-tester')
    profile = await mkdtemp(join(tmpdir(), 'darkroom-chromium-'))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      viewport: { width: 1280, height: 900 },
    })
    page = context.pages()[0] ?? (await context.newPage())
    page.setDefaultTimeout(15_000)
    // No fade-ins: screenshots show the pictures, not a transition.
    await page.emulateMedia({ reducedMotion: 'reduce' })
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    page.on('console', (msg) => {
      // 4xx answers the page expects (the wrong key, the PDF) log as failed resources.
      if (msg.type() === 'error' && !/status of 4\d\d/.test(msg.text())) {
        problems.push(`console: ${msg.text()}`)
      }
    })
  }, 60_000)

  afterAll(async () => {
    await context?.close()
    await server?.close()
    if (profile) await rm(profile, { recursive: true, force: true })
  })

  it('signs in with a key typed into the form (a wrong key is refused readably)', async () => {
    const res = await page.goto(`${server.url}/`)
    expect(res?.status()).toBe(200)
    expect(res?.headers()['content-security-policy']).toContain("default-src 'self'")
    await page.getByLabel('API key').fill('sk_notARealKey000')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not accepted/)

    await page.getByLabel('API key').fill(key)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'All photos' }).waitFor()
    expect(await page.evaluate(() => localStorage.getItem('darkroom.apiKey'))).toBe(key)
    // The picture cookie is HttpOnly: scripts do not see it.
    expect(await page.evaluate(() => document.cookie)).toBe('')
    const cookies = await context.cookies(server.url)
    const cookie = cookies.find((c) => c.name === 'darkroom_session')
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' })
    // It carries a session id, never the key (issue 15 #12).
    expect(cookie!.value).toMatch(/^ds_/)
    expect(cookies.some((c) => c.value.includes(key))).toBe(false)
  })

  it('creates an album with a cap', async () => {
    await page.getByLabel('Title').fill('Holidays')
    await page.getByLabel('Photo cap (optional)').fill('5')
    await page.getByRole('button', { name: 'Create album' }).click()
    await page.getByRole('heading', { name: 'Holidays' }).waitFor()
    await page.getByRole('button', { name: /Holidays\s*0\/5/ }).waitFor()
    const albums = await server.client(key).albums.list.query()
    expect(albums).toHaveLength(1)
    expect(albums[0]).toMatchObject({ title: 'Holidays', photoCap: 5 })
    albumId = albums[0]!.id
    expect(new URL(page.url()).hash).toBe(`#album/${albumId}`)
  })

  it('uploads three photos through the drop zone and shows their thumbnails', async () => {
    await page.getByTestId('file-input').setInputFiles(photos)
    await expect
      .poll(() => page.locator('.upload[data-state="done"]').count(), { timeout: 30_000 })
      .toBe(3)
    await expect.poll(() => page.locator('.grid img.loaded').count(), { timeout: 20_000 }).toBe(3)
    const images = await page.locator('.grid img').evaluateAll((nodes) =>
      (nodes as HTMLImageElement[]).map((img) => ({
        natural: img.naturalWidth,
        alt: img.alt,
        src: img.currentSrc,
        srcset: img.srcset,
        lazy: img.loading,
      })),
    )
    expect(images).toHaveLength(3)
    for (const img of images) {
      expect(img.natural).toBeGreaterThan(0)
      expect(img.lazy).toBe('lazy')
      expect(img.srcset).toMatch(/\/photos\/[^/]+\/small\.\w+ \d+w/)
      // A private photo, loaded by <img> with the HttpOnly cookie.
      expect(img.src).toMatch(new RegExp(`^${server.url}/photos/`))
    }
    expect(images.map((i) => i.alt).sort()).toEqual(
      photos.map((p) => `Photo ${p.name.replace(/\.\w+$/, '')}`).sort(),
    )
    // Placeholders: every tile paints its thumbhash before the picture arrives.
    const backgrounds = await page
      .locator('.grid .frame')
      .evaluateAll((nodes) => nodes.map((n) => getComputedStyle(n).backgroundImage))
    for (const bg of backgrounds) expect(bg).toMatch(/^url\("data:image\/png;base64,/)
    expect(await listedIds()).toHaveLength(3)
    await page.getByRole('button', { name: /Holidays\s*3\/5/ }).waitFor()
    await shot('gallery-desktop.png')
  })

  it('reorders by mouse drag and by keyboard; the order survives a reload', async () => {
    const [a, b, c] = (await tileIds()) as [string, string, string]
    expect(await listedIds()).toEqual([a, b, c])

    // Drag the first tile's handle onto the third tile.
    const handle = page.locator(`[data-handle-for="${a}"]`)
    const from = (await handle.boundingBox())!
    const to = (await page.locator(`[data-photo-id="${c}"] .frame`).boundingBox())!
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2)
    await page.mouse.down()
    await page.mouse.move(to.x + to.width / 2, to.y + to.height / 2, { steps: 12 })
    await page.mouse.up()
    await expect.poll(tileIds).toEqual([b, c, a])
    await expect.poll(listedIds).toEqual([b, c, a])

    // Keyboard: focus the moved tile's handle, one step back.
    await page.locator(`[data-handle-for="${a}"]`).focus()
    await page.keyboard.press('ArrowLeft')
    await expect.poll(listedIds).toEqual([b, a, c])
    await expect.poll(tileIds).toEqual([b, a, c])
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-handle-for'))).toBe(
      a,
    )

    await page.reload()
    await page.getByRole('heading', { name: 'Holidays' }).waitFor()
    await expect.poll(tileIds).toEqual([b, a, c])
  })

  it('opens the detail view with the EXIF facts, and likes and rates', async () => {
    const first = page.locator('.grid .tile-open').first()
    await first.click()
    const dialog = page.getByRole('dialog')
    await dialog.waitFor()
    await expect.poll(() => dialog.locator('dt').allTextContents()).toContain('Taken')
    await dialog.getByRole('button', { name: /Like/ }).click()
    await dialog.getByRole('button', { name: 'Rate 4 of 5' }).click()
    await expect.poll(() => dialog.locator('legend').textContent()).toMatch(/4\.0 \(1\)/)
    const id = (await tileIds())[0]!
    const photo = await server.client(key).photos.get.query({ id })
    expect([photo.likes, photo.ratingAvg]).toEqual([1, 4])
    if (photo.exif?.gps) {
      expect(await dialog.getByRole('link', { name: /on a map/ }).getAttribute('href')).toContain(
        `mlat=${photo.exif.gps.lat}`,
      )
    }
    await shot('gallery-detail.png')
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })
  })

  it('hides a photo: it leaves the grid, and shows marked with “Show hidden”', async () => {
    const [, second] = await tileIds()
    const name = (await server.client(key).photos.get.query({ id: second! })).filename
    await page.getByRole('button', { name: `Hide ${name}` }).click()
    await expect.poll(tileIds).not.toContain(second)
    expect((await server.client(key).photos.get.query({ id: second! })).hidden).toBe(true)

    await page.getByLabel('Show hidden photos').check()
    await expect.poll(tileIds).toContain(second)
    const tile = page.locator(`[data-photo-id="${second}"]`)
    expect(await tile.getAttribute('class')).toContain('is-hidden')
    expect(await tile.locator('.hidden-badge').textContent()).toBe('Hidden')
  })

  it('shows the refusal of a PDF named .jpg dropped on the zone, naming its type', async () => {
    // A real drop event carrying the file, as a desktop drag-and-drop delivers it.
    const dataTransfer = await page.evaluateHandle(
      (bytes) => {
        const transfer = new DataTransfer()
        transfer.items.add(new File([new Uint8Array(bytes)], 'notes.jpg', { type: 'image/jpeg' }))
        return transfer
      },
      [...PDF_BYTES],
    )
    await page.locator('.drop-zone').dispatchEvent('dragover', { dataTransfer })
    await page.locator('.drop-zone').dispatchEvent('drop', { dataTransfer })
    const row = page.locator('.upload[data-state="failed"]')
    await row.waitFor()
    const message = await row.locator('.upload-error').textContent()
    expect(message).toMatch(/^notes\.jpg: The mime type of the file is invalid/)
    expect(message).toContain('application/pdf')
    expect(await listedIds()).toHaveLength(3)
    await shot('gallery-refusal.png')
  })

  it('pauses and resumes an upload (network slowed to 2 MB/s)', async () => {
    await page.getByRole('button', { name: 'Dismiss notes.jpg' }).click()
    const big = await makeNoiseJpeg(2400, 2000, 11)
    const cdp = await context.newCDPSession(page)
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 2 * 1024 * 1024,
    })
    try {
      await page
        .getByTestId('file-input')
        .setInputFiles([{ name: 'big.jpg', mimeType: 'image/jpeg', buffer: big }])
      const row = page.locator('.upload', { hasText: 'big.jpg' })
      const progress = () =>
        row.locator('progress').evaluate((p) => (p as HTMLProgressElement).value)
      await expect.poll(progress).toBeGreaterThan(0)
      await row.getByRole('button', { name: 'Pause big.jpg' }).click()
      expect(await row.getAttribute('data-state')).toBe('paused')
      const atPause = await progress()
      expect(atPause).toBeLessThan(big.length)
      await row.getByRole('button', { name: 'Resume big.jpg' }).click()
      await expect.poll(() => row.getAttribute('data-state'), { timeout: 30_000 }).toBe('done')
    } finally {
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      })
      await cdp.detach()
    }
    await expect.poll(() => listedIds().then((ids) => ids.length)).toBe(4)
  })

  it('refuses an upload past the album cap, in words', async () => {
    const one = await makeJpeg({ width: 64, height: 48, seed: 801 })
    const two = await makeJpeg({ width: 64, height: 48, seed: 802 })
    const input = page.getByTestId('file-input')
    await input.setInputFiles([{ name: 'fifth.jpg', mimeType: 'image/jpeg', buffer: one }])
    await page.locator('.upload[data-state="done"]', { hasText: 'fifth.jpg' }).waitFor()
    await page.getByRole('button', { name: /Holidays\s*5\/5/ }).waitFor()
    await input.setInputFiles([{ name: 'sixth.jpg', mimeType: 'image/jpeg', buffer: two }])
    const row = page.locator('.upload[data-state="failed"]', { hasText: 'sixth.jpg' })
    expect(await row.locator('.upload-error').textContent()).toBe(
      'sixth.jpg: The album is full: it holds at most 5 photos.',
    )
    expect(await listedIds()).toHaveLength(5)
  })

  it('deletes to the trash and restores from it', async () => {
    const [victim] = await tileIds()
    const { filename } = await server.client(key).photos.get.query({ id: victim! })
    await page.getByRole('button', { name: `Delete ${filename}`, exact: true }).click()
    await expect.poll(tileIds).not.toContain(victim)
    await page.getByRole('button', { name: /Holidays\s*4\/5/ }).waitFor()

    await page.getByRole('button', { name: 'Trash' }).click()
    await page.getByRole('heading', { name: 'Trash' }).waitFor()
    await expect.poll(tileIds).toEqual([victim])
    await page.getByRole('button', { name: `Restore ${filename}` }).click()
    await expect.poll(tileIds).toEqual([])
    expect((await server.client(key).photos.get.query({ id: victim! })).deletedAt).toBeNull()
    await page.getByRole('button', { name: /Holidays\s*5\/5/ }).click()
    await expect.poll(tileIds).toContain(victim)
  })

  it('scrolls on the keyset cursor through more photos than a page', async () => {
    const form = uploadForm(
      await Promise.all(
        Array.from({ length: 45 }, async (_, i) => ({
          name: `small-${i}.jpg`,
          data: await makeJpeg({ width: 48, height: 32, seed: 1000 + i }),
        })),
      ),
    )
    const { uploaded } = await server.client(key).photos.upload.mutate(form)
    expect(uploaded).toHaveLength(45)
    await page.getByRole('button', { name: 'All photos' }).click()
    await page.getByRole('heading', { name: 'All photos' }).waitFor()
    await page.getByLabel('Show hidden photos').uncheck()
    // 5 album photos (one hidden) + 45 = 49 shown, on two pages of 40.
    await expect.poll(() => page.locator('.grid > li').count()).toBe(40)
    await page.locator('.sentinel').scrollIntoViewIfNeeded()
    await expect.poll(() => page.locator('.grid > li').count()).toBe(49)
    expect(await page.locator('.load-more').count()).toBe(0)
    const ids = await tileIds()
    expect(new Set(ids).size).toBe(49)
  })

  it('fits a phone-sized viewport', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.getByRole('button', { name: /Holidays/ }).click()
    await page.getByRole('heading', { name: 'Holidays' }).waitFor()
    await page.reload()
    await expect.poll(() => page.locator('.grid img').count()).toBe(4)
    const shown = await page.locator('.grid img').count()
    await expect.poll(() => page.locator('.grid img.loaded').count()).toBe(shown)
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    )
    expect(overflow).toBeLessThanOrEqual(0)
    // Controls stay big enough to hit with a finger.
    const smallest = await page
      .locator('.tile-actions button')
      .evaluateAll((nodes) => Math.min(...nodes.map((n) => n.getBoundingClientRect().height)))
    expect(smallest).toBeGreaterThanOrEqual(32)
    await page.screenshot({ path: join(artifacts, 'gallery-phone.png') })
  })

  /** A one-time sign-in link for `ownerId`, as `darkroom keys code` prints it. */
  const signInLink = async (ownerId: string) => {
    const otherKey = await server.key(ownerId)
    const record = await server.app.serverStore.findApiKeyByHash(hashApiKey(otherKey))
    const { code } = await createSignInCode(server.app.serverStore, { keyId: record!.id })
    return { otherKey, link: `${server.url}/#code=${code}` }
  }
  const signedInAs = () => page.locator('.signed-in-as strong').textContent()

  it('an old #key= link for someone else does not switch identity: it is refused in words', async () => {
    await page.setViewportSize({ width: 1280, height: 900 })
    const mallory = await server.key('mallory')
    await page.goto(`${server.url}/#key=${mallory}`)
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/no longer signs in/)
    // The key left the address bar, and nothing changed hands.
    expect(page.url()).not.toContain(mallory)
    expect(await page.evaluate(() => localStorage.getItem('darkroom.apiKey'))).toBe(key)
    expect(await signedInAs()).toBe('gallery-tester')
    await shot('gallery-key-link-refused.png')
  })

  it('a sign-in link for B while A is signed in asks first; the default keeps A', async () => {
    const { link } = await signInLink('bob')
    await page.goto(link)
    const dialog = page.getByRole('alertdialog')
    await dialog.waitFor()
    // The code left the address bar at once, before anything was decided.
    expect(page.url()).toBe(`${server.url}/`)
    expect(await dialog.textContent()).toMatch(
      /You are signed in as gallery-tester\. This link signs in as bob instead/,
    )
    await shot('gallery-switch-confirm.png')
    // The focused, default answer keeps the current identity.
    const focused = await page.evaluate(() => document.activeElement?.textContent)
    expect(focused).toBe('Stay signed in as gallery-tester')
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'All photos' }).waitFor()
    expect(await signedInAs()).toBe('gallery-tester')
    expect(await page.evaluate(() => localStorage.getItem('darkroom.apiKey'))).toBe(key)

    // Confirmed, the switch happens: to a session token, not a key.
    const second = await signInLink('bob')
    await page.goto(second.link)
    await page.getByRole('button', { name: 'Sign in as bob' }).click()
    await expect.poll(signedInAs).toBe('bob')
    const stored = await page.evaluate(() => ({
      key: localStorage.getItem('darkroom.apiKey'),
      token: localStorage.getItem('darkroom.sessionToken'),
    }))
    expect(stored.key).toBeNull()
    expect(stored.token).toMatch(/^ds_/)
    await shot('gallery-switched-to-bob.png')
    // The code was used: opening the link again signs nobody in.
    await page.goto(second.link)
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/not valid/)
    expect(await signedInAs()).toBe('bob')
  })

  it('signs out; a sign-in link then still asks, and signs in once confirmed', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByLabel('API key').waitFor()
    expect(await page.evaluate(() => localStorage.getItem('darkroom.sessionToken'))).toBeNull()
    expect((await context.cookies(server.url)).map((c) => c.name)).not.toContain('darkroom_session')
    // An old key link, signed out: refused too (someone else's key would sign you in as them).
    await page.goto(`${server.url}/#key=${key}`)
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/no longer signs in/)
    expect(page.url()).toBe(`${server.url}/`)
    expect(await page.evaluate(() => localStorage.getItem('darkroom.apiKey'))).toBeNull()
    await shot('gallery-key-link-refused-signed-out.png')

    const { link } = await signInLink('gallery-tester')
    await page.goto(link)
    await page.getByRole('alertdialog').waitFor()
    expect(await page.getByRole('alertdialog').textContent()).toMatch(
      /This link signs you in as gallery-tester/,
    )
    await page.getByRole('button', { name: 'Sign in as gallery-tester' }).click()
    await page.getByRole('heading', { name: 'All photos' }).waitFor()
    expect(await signedInAs()).toBe('gallery-tester')
    expect(problems).toEqual([])
  })
})
