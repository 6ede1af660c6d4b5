import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startProfileServer, type ProfileServer } from '../profiles/testing/harness.js'
import { REST_OPERATIONS, REST_PREFIX } from './operations.js'

/**
 * `/api/docs` in a real browser (Debian's chromium through playwright-core, launched as the
 * gallery's browser test launches it) against a real server: Swagger UI, served by the handler
 * itself, renders every operation of the document; nothing is fetched from another origin, and
 * the page's CSP holds (no console errors). Screenshots go to `test-artifacts/` at the repo root.
 */

const CHROMIUM = '/usr/bin/chromium'
const artifacts = fileURLToPath(new URL('../../../../test-artifacts/', import.meta.url))
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) console.warn(`${CHROMIUM} not found: API docs browser test skipped`)

describe.skipIf(!hasChromium)('the API docs page in chromium', () => {
  let server: ProfileServer
  let context: BrowserContext
  let page: Page
  let profile: string
  const problems: string[] = []
  const foreign: string[] = []

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true })
    server = await startProfileServer({ profiles: [], basePath: '/media' })
    profile = await mkdtemp(join(tmpdir(), 'darkroom-chromium-'))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      viewport: { width: 1280, height: 900 },
    })
    page = context.pages()[0] ?? (await context.newPage())
    page.setDefaultTimeout(15_000)
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`)
    })
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`)
    })
    page.on('request', (request) => {
      if (!request.url().startsWith(server.origin) && !request.url().startsWith('data:')) {
        foreign.push(request.url())
      }
    })
  }, 60_000)

  afterAll(async () => {
    await context?.close()
    await server?.close()
    if (profile) await rm(profile, { recursive: true, force: true })
  })

  it('lists every operation, from the document the handler serves', async () => {
    const response = await page.goto(`${server.origin}/media/api/docs`)
    expect(response?.status()).toBe(200)
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'")
    await page.locator('.opblock').first().waitFor()
    await expect.poll(() => page.locator('.opblock').count()).toBe(REST_OPERATIONS.length)
    const listed = await page
      .locator('.opblock-summary')
      .evaluateAll((nodes) =>
        nodes.map((n) =>
          [
            n.querySelector('.opblock-summary-method')?.textContent,
            n.querySelector('.opblock-summary-path')?.getAttribute('data-path'),
          ].join(' '),
        ),
      )
    expect(listed.sort()).toEqual(REST_OPERATIONS.map((op) => `${op.method} ${op.path}`).sort())
    await expect
      .poll(() => page.locator('.servers select').inputValue())
      .toBe(`/media${REST_PREFIX}`)
    await page.screenshot({ path: join(artifacts, 'api-docs.png'), fullPage: true })

    // One operation opened: its parameters come from the router's schema.
    await page.locator('#operations-photos-photos_list .opblock-summary').click()
    const parameters = page.locator('#operations-photos-photos_list .parameters')
    await expect.poll(() => parameters.textContent()).toContain('limit')
    await expect.poll(() => parameters.textContent()).toContain('cursor')
    await page
      .locator('#operations-photos-photos_list')
      .screenshot({ path: join(artifacts, 'api-docs-photos-list.png') })

    expect(foreign).toEqual([])
    expect(problems).toEqual([])
  })
})
