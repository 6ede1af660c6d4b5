import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/utils'
import type { Client, Notification } from 'pg'
import type { Logger } from '../logger.js'

/**
 * A tus `Locker` shared by every server process on one Postgres, built on session-level
 * advisory locks.
 *
 * - One connection per process holds all of its locks. Advisory locks are re-entrant within a
 *   session, so the process first serialises its own requests per upload id (like
 *   `MemoryLocker`), then takes `pg_try_advisory_lock(namespace, hash(id))` for the others.
 *   A process that dies (SIGKILL included) loses its session and with it every lock it held:
 *   the upload resumes through another process at once.
 * - Keys are two int4s: a fixed namespace (`NAMESPACE`) and 32 bits of sha256 of the upload id.
 *   The two-key space never meets single-bigint locks (pg-boss, kysely's migrator). Two ids with
 *   the same hash only wait for each other; they never share a lock across processes.
 * - `requestRelease`, as tus means it: a request that waits for a lock asks the holder to let
 *   go (the holder's stale PATCH is cancelled after tus' drain delay). Inside the process the
 *   holder's callback is called directly; across processes the waiter `NOTIFY`s the channel
 *   with the upload id, and the process holding it calls the callback.
 * - Waiting polls with `pg_try_advisory_lock` (a blocking `pg_advisory_lock` would stall the
 *   shared connection), from 10 ms doubling to 200 ms, until `acquireLockTimeoutMs` (tus'
 *   `ERR_LOCK_TIMEOUT`) or the request's abort signal.
 * - If the connection breaks, every lock the process held is gone: each holder is asked to
 *   release, and the next `lock()` opens a new connection.
 *
 * @example
 * const locker = new PgLocker({ connectionString: process.env.DATABASE_URL! })
 * new Server({ path: '/files', datastore, locker })
 * // on shutdown
 * await locker.close()
 */
export interface PgLockerOptions {
  /** `postgres://...`; advisory locks are per database, so the schema does not matter. */
  connectionString: string
  /** How long `lock()` waits before failing with `ERR_LOCK_TIMEOUT`; default 30 s. */
  acquireLockTimeoutMs?: number
  /** The NOTIFY channel for release requests; default `darkroom_tus_release`. */
  channel?: string
  logger?: Logger
}

/** First int4 of every key: "dkrm" in ASCII. */
export const NAMESPACE = 0x646b726d

interface Held {
  requestRelease: RequestRelease
  /** Resolved on unlock, for local waiters. */
  released: Promise<void>
  resolve: () => void
}

export class PgLocker implements Locker {
  readonly #options: PgLockerOptions
  readonly #channel: string
  readonly #timeoutMs: number
  readonly #held = new Map<string, Held>()
  #client: Promise<Client> | undefined
  #closed = false

  constructor(options: PgLockerOptions) {
    if (!options?.connectionString) {
      throw new Error('PgLocker: the `connectionString` option is required.')
    }
    this.#options = options
    this.#channel = options.channel ?? 'darkroom_tus_release'
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.#channel)) {
      throw new Error('PgLocker: `channel` must be a plain lower-case identifier.')
    }
    this.#timeoutMs = options.acquireLockTimeoutMs ?? 30_000
  }

  newLock(id: string): Lock {
    return new PgLock(this, id)
  }

  /** Ends the connection, which releases whatever is still held. */
  async close(): Promise<void> {
    this.#closed = true
    const client = this.#client
    this.#client = undefined
    this.#releaseAll()
    if (client) await (await client.catch(() => null))?.end().catch(() => undefined)
  }

  /** @internal */
  async acquire(id: string, signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs
    const key = keyOf(id)
    let delayMs = 10
    let notified = false
    for (;;) {
      if (this.#closed) throw new Error('PgLocker: the locker is closed.')
      if (signal.aborted) throw ERRORS.ERR_LOCK_TIMEOUT
      const local = this.#held.get(id)
      if (local) {
        // Another request of this process holds it: ask it to finish, wait for its unlock.
        await local.requestRelease()
        const left = deadline - Date.now()
        if (left <= 0) throw ERRORS.ERR_LOCK_TIMEOUT
        await waitFor(local.released, left, signal)
        continue
      }
      // Claim the id locally before asking Postgres, so no other local request slips in.
      let resolve!: () => void
      const released = new Promise<void>((r) => (resolve = r))
      const entry: Held = { requestRelease, released, resolve }
      this.#held.set(id, entry)
      let locked = false
      try {
        const client = await this.#connection()
        const result = await client.query<{ locked: boolean }>(
          'select pg_try_advisory_lock($1::int4, $2::int4) as locked',
          [NAMESPACE, key],
        )
        locked = result.rows[0]?.locked === true
        if (!locked && !notified) {
          // Held by another process: ask it (once per acquire) to let go.
          notified = true
          await client.query('select pg_notify($1, $2)', [this.#channel, id])
        }
      } finally {
        if (!locked && this.#held.get(id) === entry) {
          this.#held.delete(id)
          entry.resolve()
        }
      }
      if (locked) return
      if (Date.now() + delayMs > deadline) throw ERRORS.ERR_LOCK_TIMEOUT
      await waitFor(null, delayMs, signal)
      delayMs = Math.min(200, delayMs * 2)
    }
  }

  /** @internal */
  async release(id: string): Promise<void> {
    const entry = this.#held.get(id)
    if (!entry) throw new Error('Releasing an unlocked lock!')
    try {
      const client = this.#client ? await this.#client.catch(() => null) : null
      // No connection: the session that held the lock is gone, and the lock with it.
      await client?.query('select pg_advisory_unlock($1::int4, $2::int4)', [NAMESPACE, keyOf(id)])
    } finally {
      this.#held.delete(id)
      entry.resolve()
    }
  }

  #connection(): Promise<Client> {
    this.#client ??= this.#connect()
    return this.#client
  }

  async #connect(): Promise<Client> {
    const pg = await import('pg')
    const { Client: PgClient } = pg.default ?? pg
    const client = new PgClient({
      connectionString: this.#options.connectionString,
      application_name: 'darkroom-tus-locker',
      keepAlive: true,
    })
    let current = true
    const lost = (error?: Error) => {
      if (!current) return
      current = false
      this.#client = undefined
      if (error) this.#options.logger?.error({ err: error }, 'tus locker connection lost')
      this.#releaseAll()
    }
    client.on('error', lost)
    client.on('end', () => lost())
    client.on('notification', (message: Notification) => {
      if (message.channel !== this.#channel || !message.payload) return
      const entry = this.#held.get(message.payload)
      if (entry) void Promise.resolve(entry.requestRelease()).catch(() => undefined)
    })
    try {
      await client.connect()
      await client.query(`listen ${this.#channel}`)
    } catch (error) {
      current = false
      this.#client = undefined
      await client.end().catch(() => undefined)
      throw error
    }
    return client
  }

  /** The session is gone (or closing): ask every holder to stop; their unlocks are no-ops. */
  #releaseAll(): void {
    for (const entry of this.#held.values()) {
      void Promise.resolve(entry.requestRelease()).catch(() => undefined)
    }
  }
}

class PgLock implements Lock {
  readonly #locker: PgLocker
  readonly #id: string

  constructor(locker: PgLocker, id: string) {
    this.#locker = locker
    this.#id = id
  }

  lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    return this.#locker.acquire(this.#id, signal, requestRelease)
  }

  unlock(): Promise<void> {
    return this.#locker.release(this.#id)
  }
}

/** Resolves when `promise` settles, `ms` pass, or `signal` aborts, leaving no timer behind. */
async function waitFor(
  promise: Promise<void> | null,
  ms: number,
  signal: AbortSignal,
): Promise<void> {
  const done = new AbortController()
  const onAbort = () => done.abort()
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    await Promise.race([
      ...(promise ? [promise] : []),
      sleep(ms, undefined, { signal: done.signal }).catch(() => undefined),
    ])
  } finally {
    signal.removeEventListener('abort', onAbort)
    done.abort()
  }
}

/** 32 bits of sha256 of the id, as a signed int4. */
export function keyOf(id: string): number {
  return createHash('sha256').update(id).digest().readInt32BE(0)
}
