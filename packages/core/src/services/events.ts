import type { Clock } from '../ports/clock.js'
import type { DarkroomEvent, DarkroomEventType, EventSink } from '../ports/event-sink.js'
import type { IdGenerator } from '../ports/ids.js'
import type { Logger } from '../ports/logger.js'

export type EventListener = (event: DarkroomEvent) => void

/**
 * Fans committed changes out to the configured sink (the server's outbox) and to in-process
 * listeners (`darkroom.events.on`). A failing sink or listener is logged and never undoes the
 * change that was already committed.
 */
export class EventBus {
  private readonly listeners = new Map<string, Set<EventListener>>()

  constructor(
    private readonly sink: EventSink | undefined,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly logger: Logger,
  ) {}

  on(type: DarkroomEventType | '*', listener: EventListener): () => void {
    let set = this.listeners.get(type)
    if (!set) this.listeners.set(type, (set = new Set()))
    set.add(listener)
    return () => set.delete(listener)
  }

  make(
    type: DarkroomEventType,
    ownerId: string,
    subjectId: string | undefined,
    data: Record<string, unknown>,
  ): DarkroomEvent {
    const event: DarkroomEvent = {
      id: this.ids.newId(),
      type,
      ownerId,
      occurredAt: this.clock.now().toISOString(),
      data,
    }
    if (subjectId !== undefined) event.subjectId = subjectId
    return event
  }

  async emit(events: readonly DarkroomEvent[]): Promise<void> {
    if (events.length === 0) return
    if (this.sink) {
      try {
        await this.sink.emit(events)
      } catch (error) {
        this.logger.error({ err: error, events: events.length }, 'event sink failed')
      }
    }
    for (const event of events) {
      for (const key of [event.type, '*']) {
        for (const listener of this.listeners.get(key) ?? []) {
          try {
            listener(event)
          } catch (error) {
            this.logger.error({ err: error, type: event.type }, 'event listener threw')
          }
        }
      }
    }
  }
}
