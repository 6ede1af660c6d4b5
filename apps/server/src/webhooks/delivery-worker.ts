import { systemClock, type Clock, type DeliveryRecord, type ServerStore } from '@darkroom/core'
import type { Logger } from '../logger.js'
import { guardedPost, type WebhookTransport } from './guarded-post.js'
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signWebhook } from './signature.js'

/**
 * Sends the webhook outbox. All state is in the database: a timer claims due deliveries with a
 * lease (a crashed or restarted server's claims come due again when the lease runs out), POSTs
 * each event as JSON, signed, and records the outcome. A non-2xx answer, a redirect, a timeout
 * or a network error is retried with exponential backoff and jitter until `maxAttempts`, after
 * which the delivery stays in the outbox as `failed`. Delivery is at least once; receivers
 * deduplicate on `Darkroom-Event-Id`.
 */
export interface WebhookDeliveryWorkerOptions {
  store: ServerStore
  logger: Logger
  clock?: Clock
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
  pollIntervalMs: number
  leaseMs: number
  timeoutMs: number
  /** Deliveries claimed per round; default 20. */
  batchSize?: number
  /** How a delivery is sent; default `guardedPost` with the default policy (public addresses, 80/443). */
  fetch?: WebhookTransport
  random?: () => number
  /**
   * Told, once per round, the earliest time a failed delivery of that round is due again (the
   * pg-boss wiring schedules a job for then; the timer of `start()` polls anyway).
   */
  onRetry?: (at: Date) => void
}

export class WebhookDeliveryWorker {
  readonly #options: WebhookDeliveryWorkerOptions
  readonly #clock: Clock
  readonly #fetch: WebhookTransport
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #started = false
  #again = false

  constructor(options: WebhookDeliveryWorkerOptions) {
    this.#options = options
    this.#clock = options.clock ?? systemClock
    this.#fetch = options.fetch ?? guardedPost({})
  }

  start(): void {
    if (this.#started) return
    this.#started = true
    this.#schedule(0)
  }

  /** Runs a round soon (new events were enqueued). */
  poke(): void {
    if (!this.#started) return
    if (this.#running) {
      this.#again = true
      return
    }
    this.#schedule(0)
  }

  /** Stops the timer and waits for the round in flight (its requests time out at worst). */
  async stop(): Promise<void> {
    this.#started = false
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running
  }

  /** One round: claims due deliveries and sends them. Returns how many were attempted. */
  async runOnce(): Promise<number> {
    const { store, batchSize = 20, leaseMs } = this.#options
    const claimedAt = this.#clock.now()
    const due = await store.claimDueDeliveries(claimedAt, batchSize, leaseMs)
    const retries = await Promise.all(due.map((delivery) => this.#deliver(delivery, claimedAt)))
    const next = retries.reduce<Date | null>(
      (min, at) => (at && (!min || at < min) ? at : min),
      null,
    )
    if (next) this.#options.onRetry?.(next)
    return due.length
  }

  /**
   * Rounds until one claims less than a full batch, or `budgetMs` has passed (the caller runs
   * it again later); for a job queue's handler. Returns how many were attempted.
   */
  async drain(budgetMs = 60_000): Promise<number> {
    const started = Date.now()
    let total = 0
    for (;;) {
      const attempted = await this.runOnce()
      total += attempted
      if (attempted < (this.#options.batchSize ?? 20)) return total
      if (Date.now() - started >= budgetMs) return total
    }
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#running = this.#round().finally(() => {
        this.#running = undefined
      })
    }, delayMs)
    this.#timer.unref()
  }

  async #round(): Promise<void> {
    let attempted = 0
    try {
      this.#again = false
      attempted = await this.runOnce()
    } catch (error) {
      this.#options.logger.error({ err: error }, 'webhook delivery round failed')
    }
    if (!this.#started) return
    const full = attempted >= (this.#options.batchSize ?? 20)
    this.#schedule(full || this.#again ? 0 : this.#options.pollIntervalMs)
  }

  /** Sends one claimed delivery; returns when it is due again after a failure, else null. */
  async #deliver(delivery: DeliveryRecord, claimedAt: Date): Promise<Date | null> {
    const { store, logger, timeoutMs, leaseMs } = this.#options
    const attempt = delivery.attempts + 1
    let failure: string
    try {
      const hook = await store.getWebhook(delivery.webhookId)
      if (!hook) {
        await store.markAttemptFailed(delivery.id, 'The webhook was deleted.', null)
        return null
      }
      // The lease is the only guard against another process claiming this row again: never
      // start a request that could outlive it (a stalled process leaves the row to the others).
      if (this.#clock.now().getTime() + timeoutMs >= claimedAt.getTime() + leaseMs) {
        logger.warn({ deliveryId: delivery.id }, 'webhook lease too short to deliver; left due')
        return null
      }
      const body = JSON.stringify(delivery.event)
      const timestamp = Math.floor(this.#clock.now().getTime() / 1000)
      const response = await this.#fetch(hook.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'Darkroom-Webhooks/1',
          [SIGNATURE_HEADER]: signWebhook(hook.secret, body, timestamp),
          [EVENT_ID_HEADER]: delivery.event.id,
          'Darkroom-Event-Type': delivery.event.type,
          'Darkroom-Delivery-Attempt': String(attempt),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      })
      await response.body?.cancel().catch(() => undefined)
      if (response.status >= 200 && response.status < 300) {
        await store.markDelivered(delivery.id, this.#clock.now())
        logger.debug({ deliveryId: delivery.id, attempt }, 'webhook delivered')
        return null
      }
      failure = `HTTP ${response.status}`
    } catch (error) {
      failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    }
    const next = attempt >= this.#options.maxAttempts ? null : this.#nextAttemptAt(attempt)
    logger.warn(
      { deliveryId: delivery.id, attempt, error: failure, retryAt: next?.toISOString() ?? null },
      next ? 'webhook delivery failed; will retry' : 'webhook delivery failed; giving up',
    )
    await store
      .markAttemptFailed(delivery.id, failure.slice(0, 500), next)
      .catch((error: unknown) => logger.error({ err: error }, 'could not record a webhook attempt'))
    return next
  }

  /** Exponential backoff with "equal jitter": half the delay fixed, half random. */
  #nextAttemptAt(attempt: number): Date {
    const { baseDelayMs, maxDelayMs } = this.#options
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1))
    const random = this.#options.random ?? Math.random
    const delay = ceiling / 2 + random() * (ceiling / 2)
    return new Date(this.#clock.now().getTime() + Math.round(delay))
  }
}
