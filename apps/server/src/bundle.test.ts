import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, startServerProcess, type ServerProcess } from './testing/processes.js'
import { startTusUpload } from './testing/tus-upload.js'

/**
 * The bundle `npm start` runs (apps/server/scripts/bundle.mjs, built by `npm run build` and so by
 * `npm install`): built here from the sources, started as a process, and driven the way a client
 * would. What a bundle can get wrong is what this covers: a dependency that finds its own files
 * (better-sqlite3's binding, swagger-ui-dist, pino), one loaded with `import()` on first use
 * (sharp, exifr, file-type: an upload), and a graceful stop.
 */

let dir: string
let server: ServerProcess

/** Whether the server process has sharp's native binding (libvips) loaded; null off Linux. */
async function hasLibvips(): Promise<boolean | null> {
  const maps = await readFile(`/proc/${server.child.pid}/maps`, 'utf8').catch(() => null)
  return maps === null ? null : /libvips|sharp-[\w-]+\.node/.test(maps)
}

beforeAll(async () => {
  // Inside the repository (test-artifacts/ is ignored by git), so that the dependencies left
  // outside the bundle resolve from node_modules as they do for apps/server/dist.
  await mkdir(join(REPO_ROOT, 'test-artifacts'), { recursive: true })
  dir = await mkdtemp(join(REPO_ROOT, 'test-artifacts', 'bundle-'))
  const out = join(dir, 'dist')
  await promisify(execFile)(process.execPath, [
    join(REPO_ROOT, 'apps', 'server', 'scripts', 'bundle.mjs'),
    out,
  ])
  server = await startServerProcess({ DATA_DIR: join(dir, 'data') }, 60_000, [
    join(out, 'main.bundle.js'),
  ])
}, 120_000)
afterAll(async () => {
  await server?.kill()
  await rm(dir, { recursive: true, force: true })
})

describe('the server bundle', () => {
  it('is one entry with chunks for what loads on demand, beside no stale chunk', async () => {
    const files = (await readdir(join(dir, 'dist'))).filter((file) => file.endsWith('.js'))
    expect(files).toContain('main.bundle.js')
    expect(files.every((file) => /^(main\.bundle|bundle-[\w.-]+)\.js$/.test(file))).toBe(true)
  })

  it('answers /healthz once the database and blob store answer', async () => {
    const res = await fetch(`${server.url}/healthz`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true, checks: { database: 'ok', blobs: 'ok' } })
    // What the first request needs, not everything: no image decoded yet, no libvips.
    expect(await hasLibvips()).not.toBe(true)
  })

  it('ingests an upload (sniff, EXIF and sharp, loaded on first use) and serves the API docs', async () => {
    const key = /shown only this once:\s+(sk_\S+)/.exec(server.output())?.[1]
    expect(key).toBeDefined()
    const jpeg = await sharp({
      create: { width: 64, height: 48, channels: 3, background: '#3366cc' },
    })
      .jpeg()
      .toBuffer()
    const { done } = startTusUpload({ url: server.url, key: key! }, jpeg, {
      metadata: { filename: 'blue.jpg', filetype: 'image/jpeg' },
    })
    const outcome = await done
    expect(outcome.body).toBeNull()
    expect(outcome.photoId).toMatch(/\S/)
    expect(await hasLibvips()).not.toBe(false)

    const docs = await fetch(`${server.url}/api/docs`)
    expect(docs.status).toBe(200)
    expect(await docs.text()).toContain('swagger')
  })

  it('stops gracefully on SIGTERM', async () => {
    await server.stop()
    expect(server.child.exitCode).toBe(0)
  })
})
