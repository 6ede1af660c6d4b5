import { readdir, stat } from 'node:fs/promises'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeJpeg } from '@darkroom/core/testing'
import { createApiKey } from '@darkroom/trpc'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { makeClient, uploadForm } from '../testing/harness.js'
import { startServerProcess, type ServerProcess } from '../testing/processes.js'
import { createSqliteStore } from '@darkroom/storage'

/**
 * The data folder of `npm start` is its user's alone: the database (with webhook secrets and
 * key hashes), the photos, the uploads, the signing secret. Another local user reads nothing.
 */

let dataDir: string
let server: ServerProcess
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'darkroom-perms-'))
  server = await startServerProcess({ DATA_DIR: join(dataDir, 'data') })
})
afterAll(async () => {
  await server?.stop()
  await rm(dataDir, { recursive: true, force: true })
})

async function* walk(path: string): AsyncGenerator<string> {
  yield path
  if (!(await stat(path)).isDirectory()) return
  for (const name of await readdir(path)) yield* walk(join(path, name))
}

it('creates every file 0600 and every folder 0700', async () => {
  const root = join(dataDir, 'data')
  // A key made beside the running server (SQLite in WAL mode allows it), then a photo.
  const store = createSqliteStore({ filename: join(root, 'darkroom.db') })
  const { key } = await createApiKey(store.server, {
    ownerId: 'alice',
    name: 'perms',
    scopes: ['photos.read', 'photos.write'],
  })
  await store.close()
  const data = await makeJpeg({ width: 120, height: 90, seed: 3 })
  await makeClient(server.url, key).photos.upload.mutate(uploadForm([{ name: 'a.jpg', data }]))
  const open: string[] = []
  let files = 0
  for await (const path of walk(root)) {
    const { mode } = await stat(path)
    if ((mode & 0o077) !== 0)
      open.push(`${path.slice(root.length) || '/'} ${(mode & 0o777).toString(8)}`)
    files++
  }
  expect(files).toBeGreaterThan(5)
  expect(open).toEqual([])
})
