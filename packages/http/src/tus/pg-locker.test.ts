import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { ERRORS } from '@tus/utils'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { keyOf, NAMESPACE, PgLocker } from './pg-locker.js'

/**
 * Against the Postgres at `DATABASE_URL` (default the local trust-auth server); skips when none
 * answers. Advisory locks are per database, so no schema is needed: ids and the NOTIFY channel
 * are random per run. Two `PgLocker`s stand for two processes (two sessions); a lock held by a
 * process that dies is tested with a real child process killed by SIGKILL.
 */
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const unreachable = await (async () => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('select 1')
    return null
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  } finally {
    await client.end().catch(() => undefined)
  }
})()
if (unreachable) console.warn(`PgLocker tests skipped: Postgres unreachable (${unreachable}).`)

const channel = `dr_test_${randomBytes(6).toString('hex')}`
const lockers: PgLocker[] = []
const makeLocker = (acquireLockTimeoutMs = 5_000) => {
  const locker = new PgLocker({ connectionString: url, channel, acquireLockTimeoutMs })
  lockers.push(locker)
  return locker
}
const newId = () => randomBytes(16).toString('hex')
const signal = () => new AbortController().signal

describe.skipIf(unreachable !== null)('PgLocker', () => {
  afterAll(async () => {
    for (const locker of lockers) await locker.close()
  })

  it('excludes a second process until the first unlocks', async () => {
    const [a, b] = [makeLocker(), makeLocker()]
    const id = newId()
    const first = a.newLock(id)
    await first.lock(signal(), () => {})
    let acquired = false
    const second = b.newLock(id)
    const waiting = second.lock(signal(), () => {}).then(() => (acquired = true))
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(acquired).toBe(false)
    await first.unlock()
    await waiting
    expect(acquired).toBe(true)
    await second.unlock()
  })

  it('asks the holder in another process to release (requestRelease through NOTIFY)', async () => {
    const [a, b] = [makeLocker(), makeLocker()]
    const id = newId()
    const held = a.newLock(id)
    let asked = 0
    await held.lock(signal(), () => {
      asked++
      void held.unlock()
    })
    const started = Date.now()
    const other = b.newLock(id)
    await other.lock(signal(), () => {})
    expect(asked).toBe(1)
    expect(Date.now() - started).toBeLessThan(2_000)
    await other.unlock()
  })

  it('times out with ERR_LOCK_TIMEOUT while the holder keeps it, and stops on abort', async () => {
    const a = makeLocker()
    const b = makeLocker(300)
    const id = newId()
    const held = a.newLock(id)
    await held.lock(signal(), () => {})
    await expect(b.newLock(id).lock(signal(), () => {})).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT)
    const slow = makeLocker(60_000)
    const abort = new AbortController()
    const waiting = slow.newLock(id).lock(abort.signal, () => {})
    setTimeout(() => abort.abort(), 100)
    const started = Date.now()
    await expect(waiting).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT)
    expect(Date.now() - started).toBeLessThan(2_000)
    await held.unlock()
  })

  it('serialises requests of one process on one id, asking the local holder first', async () => {
    const a = makeLocker()
    const id = newId()
    const order: string[] = []
    const first = a.newLock(id)
    await first.lock(signal(), () => {
      order.push('asked')
      setTimeout(() => {
        order.push('first unlocks')
        void first.unlock()
      }, 50)
    })
    const second = a.newLock(id)
    await second.lock(signal(), () => {})
    order.push('second locked')
    expect(order).toEqual(['asked', 'first unlocks', 'second locked'])
    // Different ids do not wait for each other.
    const other = a.newLock(newId())
    await other.lock(signal(), () => {})
    await other.unlock()
    await second.unlock()
    await expect(second.unlock()).rejects.toThrow(/unlocked/)
  })

  it('frees the lock of a process killed while holding it', async () => {
    const id = newId()
    // A real process holding the same key PgLocker uses, killed without a chance to clean up.
    const script = `
      const pg = require('pg')
      const client = new pg.Client({ connectionString: process.argv[1] })
      client.connect()
        .then(() => client.query('select pg_advisory_lock($1::int4, $2::int4)', [${NAMESPACE}, ${keyOf(id)}]))
        .then(() => console.log('locked'))
      setInterval(() => {}, 1000)
    `
    const child = spawn(process.execPath, ['-e', script, url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const [chunk] = (await once(child.stdout!, 'data')) as [Buffer]
    expect(chunk.toString()).toContain('locked')
    const b = makeLocker(500)
    await expect(b.newLock(id).lock(signal(), () => {})).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT)
    child.kill('SIGKILL')
    await once(child, 'exit')
    const lock = makeLocker(5_000).newLock(id)
    await lock.lock(signal(), () => {})
    await lock.unlock()
  })

  it('releases what it holds when closed', async () => {
    const a = makeLocker()
    const id = newId()
    await a.newLock(id).lock(signal(), () => {})
    await a.close()
    const lock = makeLocker(2_000).newLock(id)
    await lock.lock(signal(), () => {})
    await lock.unlock()
  })
})
