import { setTimeout as sleep } from 'node:timers/promises'
import {
  systemClock,
  type Clock,
  type DarkroomEvent,
  type EventSink,
  type ServerStore,
} from '@darkroom/core'

export interface OutboxEventSinkOptions {
  store: ServerStore
  clock?: Clock
  /** Told after events were written, so that delivery starts without waiting for a poll. */
  onEnqueued?: () => void
}

/**
 * The server's `EventSink`: writes one delivery per (event, subscribed webhook) to the outbox
 * in the database; the delivery worker sends them. A failed write is retried a few times (a
 * busy database) before the error goes back to core, which logs it.
 */
export class OutboxEventSink implements EventSink {
  readonly #store: ServerStore
  readonly #clock: Clock
  readonly #onEnqueued: (() => void) | undefined

  constructor(options: OutboxEventSinkOptions) {
    this.#store = options.store
    this.#clock = options.clock ?? systemClock
    this.#onEnqueued = options.onEnqueued
  }

  async emit(events: readonly DarkroomEvent[]): Promise<void> {
    if (events.length === 0) return
    for (let attempt = 1; ; attempt++) {
      try {
        const enqueued = await this.#store.enqueueDeliveries(events, this.#clock.now())
        if (enqueued > 0) this.#onEnqueued?.()
        return
      } catch (error) {
        if (attempt >= 5) throw error
        await sleep(50 * 2 ** attempt)
      }
    }
  }
}
