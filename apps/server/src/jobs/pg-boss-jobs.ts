import type PgBoss from 'pg-boss'
import type { Logger } from '../logger.js'

/**
 * Background work on pg-boss, when the server runs on Postgres: any process may enqueue, any
 * process with `work` on runs the jobs, and the schedules survive restarts (they live in the
 * database). With SQLite none of this is loaded: compose.ts runs the same periodic tasks on
 * in-process timers.
 *
 * Queues (all `standard` policy: a duplicate job is cheap, a job that cannot run because a dead
 * process's job still counts as active would not be):
 * - `darkroom-webhooks`: "deliver what is due". Sent (debounced to one per second) when events
 *   are written to the outbox, at the earliest retry time after a round with failures, and
 *   every minute by cron as a safety net (a delivery leased by a process that died comes due
 *   when its lease runs out). The handler claims rows with a lease in the ServerStore (`FOR
 *   UPDATE SKIP LOCKED`), so however many handlers run at once in however many processes, each
 *   delivery row is sent by one of them.
 * - `darkroom-purge-pending`, `darkroom-purge-trash`, `darkroom-upload-cleanup`,
 *   `darkroom-orphan-sweep`: the periodic tasks (periodic-tasks.ts), on cron, one job per slot
 *   across all processes (pg-boss's own singleton per cron minute). Each handler is idempotent
 *   (rows first then blobs; uploads under their lock; blobs past a grace age).
 *
 * A handler that throws is retried by pg-boss (`retryLimit`, with backoff); a process that dies
 * mid-job leaves it active until `expireInSeconds`, then it is retried elsewhere.
 */

export const QUEUES = {
  webhooks: 'darkroom-webhooks',
  purgePending: 'darkroom-purge-pending',
  purgeTrash: 'darkroom-purge-trash',
  uploadCleanup: 'darkroom-upload-cleanup',
  orphanSweep: 'darkroom-orphan-sweep',
} as const
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES]

export interface JobTask {
  /** cron (UTC) for scheduled tasks; null: only when sent. */
  cron: string | null
  run(): Promise<unknown>
  /** A job running longer is considered dead and retried. */
  expireInSeconds: number
  /**
   * How often an idle worker looks for jobs sent by other processes; default the options'
   * `pollIntervalMs`. Jobs sent by this process wake its own worker at once.
   */
  pollIntervalMs?: number
}

export interface PgBossJobsOptions {
  connectionString: string
  /** pg-boss's own schema (created on start). */
  schema: string
  /** Run jobs in this process; false: only send them (a web-only process). */
  work: boolean
  logger: Logger
  tasks: Record<QueueName, JobTask>
  /** How often an idle worker looks for jobs sent by other processes; default 1 s. */
  pollIntervalMs?: number
  /** Connections of pg-boss's pool; default 4. */
  maxConnections?: number
}

export class PgBossJobs {
  readonly #boss: PgBoss
  readonly #logger: Logger
  /** Worker id per queue, to wake the local worker when this process sends a job. */
  readonly #workers = new Map<QueueName, string>()
  #stopped = false

  private constructor(boss: PgBoss, logger: Logger) {
    this.#boss = boss
    this.#logger = logger
  }

  /**
   * Installs or migrates pg-boss's schema, creates the queues, registers the schedules and, with
   * `work`, starts a worker per queue.
   *
   * @example
   * const jobs = await PgBossJobs.start({ connectionString, schema: 'pgboss', work: true, logger, tasks })
   * jobs.send(QUEUES.webhooks)
   * await jobs.stop()
   */
  static async start(options: PgBossJobsOptions): Promise<PgBossJobs> {
    const { default: Boss } = await import('pg-boss')
    const boss = new Boss({
      connectionString: options.connectionString,
      schema: options.schema,
      max: options.maxConnections ?? 4,
      application_name: 'darkroom-jobs',
      // Web-only processes neither supervise nor fire cron; workers do, pg-boss picks one.
      supervise: options.work,
      schedule: options.work,
      retryLimit: 5,
      retryDelay: 5,
      retryBackoff: true,
    })
    const jobs = new PgBossJobs(boss, options.logger)
    boss.on('error', (error) => options.logger.error({ err: error }, 'pg-boss error'))
    await boss.start()
    try {
      for (const [name, task] of Object.entries(options.tasks) as [QueueName, JobTask][]) {
        await boss.createQueue(name, {
          name,
          policy: 'standard',
          expireInSeconds: task.expireInSeconds,
          retryLimit: 5,
          retryDelay: 5,
          retryBackoff: true,
        })
        if (!options.work) continue
        // Schedules live in the database: the last process to start sets them.
        if (task.cron) await boss.schedule(name, task.cron, {}, { tz: 'UTC' })
        else await boss.unschedule(name)
        const pollMs = task.pollIntervalMs ?? options.pollIntervalMs ?? 1_000
        const workerId = await boss.work(
          name,
          { pollingIntervalSeconds: Math.max(0.5, pollMs / 1000) },
          async () => jobs.#run(name, task),
        )
        jobs.#workers.set(name, workerId)
      }
    } catch (error) {
      await boss.stop({ graceful: false }).catch(() => undefined)
      throw error
    }
    return jobs
  }

  /**
   * Sends a job now, or at `at`. Debounced: sends of one queue for the same second become one
   * job, plus one in the next second when the first may have started already (pg-boss's
   * `singletonNextSlot`), so work written after a job began is never left to the cron.
   * Never throws: a failed send is logged (the cron runs the queue again anyway).
   */
  send(name: QueueName, at?: Date): void {
    if (this.#stopped) return
    const slot = Math.max(Math.ceil((at?.getTime() ?? Date.now()) / 1000), 0)
    const options: PgBoss.SendOptions = {
      singletonKey: `at-${slot}`,
      singletonSeconds: 1,
      singletonNextSlot: true,
    }
    const later = at !== undefined && at.getTime() > Date.now()
    if (later) options.startAfter = new Date(slot * 1000)
    this.#boss.send(name, {}, options).then(
      (id) => {
        const worker = this.#workers.get(name)
        if (id && worker && !later && !this.#stopped) this.#boss.notifyWorker(worker)
      },
      (error: unknown) => {
        this.#logger.error({ err: error, queue: name }, 'could not enqueue a job')
      },
    )
  }

  /** Jobs of a queue not finished yet (created, retry or active). */
  async pending(name: QueueName): Promise<number> {
    return this.#boss.getQueueSize(name, { before: 'completed' })
  }

  /** Stops fetching, waits up to `graceMs` for jobs in flight, closes the pool. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    await this.#boss.stop({ graceful: true, wait: true, timeout: Math.max(1_000, graceMs) })
  }

  async #run(name: QueueName, task: JobTask): Promise<unknown> {
    const started = Date.now()
    try {
      const result = await task.run()
      this.#logger.debug({ queue: name, ms: Date.now() - started, result }, 'job done')
      return result ?? null
    } catch (error) {
      this.#logger.error({ err: error, queue: name }, 'job failed; pg-boss will retry it')
      throw error
    }
  }
}

/** A cron expression that fires about every `ms` (at least every minute, at most hourly). */
export function cronEvery(ms: number): string {
  const minutes = Math.round(ms / 60_000)
  if (minutes <= 1) return '* * * * *'
  if (minutes < 60) return `*/${minutes} * * * *`
  return '0 * * * *'
}
