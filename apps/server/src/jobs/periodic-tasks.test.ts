import { join } from 'node:path'
import { makeJpeg } from '@darkroom/core/testing'
import { createFsBlobStore } from '@darkroom/storage'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { loadConfig } from '../config.js'
import { startServer, uploadForm, type TestServer } from '../testing/harness.js'
import { QUEUES } from './pg-boss-jobs.js'
import { PERIODIC_TASKS, periodicTasks } from './periodic-tasks.js'

const DAY = 86_400_000

describe('periodic tasks', () => {
  it('lists each task once for both schedulers: a SQLite timer and a pg-boss cron', () => {
    const noop = async () => null
    const run = Object.fromEntries(PERIODIC_TASKS.map((name) => [name, noop])) as Record<
      (typeof PERIODIC_TASKS)[number],
      () => Promise<null>
    >
    const tasks = periodicTasks(loadConfig({}), run)
    expect(Object.keys(tasks).sort()).toEqual(
      ['orphanSweep', 'purgePending', 'purgeTrash', 'uploadCleanup'].sort(),
    )
    for (const name of PERIODIC_TASKS) {
      expect(tasks[name].everyMs).toBeGreaterThan(0)
      expect(tasks[name].cron).toBeTruthy()
      expect(QUEUES[name]).toMatch(/^darkroom-/)
    }
    expect(tasks.purgeTrash).toMatchObject({ everyMs: 3_600_000, cron: '0 * * * *' })
    expect(tasks.orphanSweep).toMatchObject({ everyMs: DAY, cron: '17 3 * * *' })
  })

  describe('on SQLite, in-process timers', () => {
    let server: TestServer | undefined
    afterEach(async () => {
      vi.useRealTimers()
      await server?.close()
      server = undefined
    })

    it('purge the trash past its retention hourly and sweep orphan blobs daily', async () => {
      // Only the intervals are faked: the server's I/O and the test's waits run in real time.
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
      let offsetMs = 0
      const clock = { now: () => new Date(Date.now() + offsetMs) }
      server = await startServer({ env: { TRASH_RETENTION_DAYS: '2' }, compose: { clock } })
      const client = server.client(await server.key('timers'))
      const { uploaded } = await client.photos.upload.mutate(
        uploadForm([
          { name: 't.jpg', data: await makeJpeg({ width: 24, height: 24, seed: 9300 }) },
          { name: 'k.jpg', data: await makeJpeg({ width: 24, height: 24, seed: 9301 }) },
        ]),
      )
      const [trashed, kept] = [uploaded[0]!.id, uploaded[1]!.id]
      await client.photos.delete.mutate({ id: trashed })
      const blobs = createFsBlobStore({ root: join(server.dataDir, 'blobs') })
      const orphan = 'photos/00000000-0000-7000-8000-0000000000ac/original'
      await blobs.put(orphan, Buffer.from('left by a crash'))

      offsetMs = 3 * DAY
      await vi.advanceTimersByTimeAsync(60 * 60_000)
      await until(async () => (await client.photos.list.query({ trashed: true })).total === 0)
      expect(await blobs.stat(`photos/${trashed}/original`)).toBeNull()
      expect(await blobs.stat(`photos/${kept}/original`)).not.toBeNull()
      expect(await blobs.stat(orphan)).not.toBeNull()

      await vi.advanceTimersByTimeAsync(DAY)
      await until(async () => (await blobs.stat(orphan)) === null)
      expect(await blobs.stat(`photos/${kept}/original`)).not.toBeNull()
      expect((await client.photos.get.query({ id: kept })).deletedAt).toBeNull()
    })
  })
})

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
