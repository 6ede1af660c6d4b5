export type DarkroomEventType =
  | 'photo.uploaded'
  | 'photo.updated'
  | 'photo.deleted'
  | 'photos.bulk_deleted'
  | 'album.created'
  | 'album.updated'
  | 'album.deleted'

export interface DarkroomEvent {
  /** Unique per event; receivers deduplicate on it. */
  id: string
  type: DarkroomEventType
  ownerId: string
  occurredAt: string
  /** The photo (or album) the event is about; absent on summaries. */
  subjectId?: string
  data: Record<string, unknown>
}

/**
 * Receives every state change after it is committed. The server's sink persists them in an
 * outbox and delivers webhooks. `emit` must not throw for delivery failures (retry is the
 * sink's job); a throw is logged by core and does not undo the change.
 */
export interface EventSink {
  emit(events: readonly DarkroomEvent[]): Promise<void>
}
