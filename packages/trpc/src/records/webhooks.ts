import {
  DarkroomError,
  requireScope,
  systemClock,
  uuidV7Ids,
  type Caller,
  type DarkroomEventType,
  type ServerStore,
  type WebhookRecord,
} from '@darkroom/core'
import type { KeyDeps } from './api-keys.js'
import { randomBase62 } from '../internal/random.js'

/**
 * Webhook subscriptions. Delivery (signing, retries, the outbox worker) is the server's; this
 * module only keeps the subscriptions. A webhook carries photo data, so it needs `photos.read`.
 * The secret is shown once, when the webhook is created.
 */
export const WEBHOOK_EVENT_TYPES = [
  'photo.uploaded',
  'photo.updated',
  'photo.deleted',
  'photos.bulk_deleted',
  'album.created',
  'album.updated',
  'album.deleted',
] as const satisfies readonly DarkroomEventType[]

// Fails to compile when core adds an event type this list does not have.
type Missing = Exclude<DarkroomEventType, (typeof WEBHOOK_EVENT_TYPES)[number]>
const everyEventListed: [Missing] extends [never] ? true : Missing = true
void everyEventListed

/** A webhook as listed: everything but its secret. */
export type WebhookInfo = Omit<WebhookRecord, 'secret'>

export interface CreatedWebhook {
  webhook: WebhookInfo
  /** The HMAC-SHA256 signing secret. Not shown again. */
  secret: string
}

export async function create(
  serverStore: ServerStore,
  caller: Caller,
  input: { url: string; events?: readonly DarkroomEventType[] | undefined },
  deps: KeyDeps = {},
): Promise<CreatedWebhook> {
  // Subscribing changes what the server does on the owner's behalf: a write, like uploading.
  requireScope(caller, 'photos.write')
  const record: WebhookRecord = {
    id: (deps.ids ?? uuidV7Ids).newId(),
    ownerId: caller.ownerId,
    url: assertHttpUrl(input.url),
    secret: `whsec_${randomBase62(32)}`,
    events: [...new Set(input.events ?? [])],
    createdAt: (deps.clock ?? systemClock).now(),
  }
  await serverStore.insertWebhook(record)
  return { webhook: withoutSecret(record), secret: record.secret }
}

export async function list(serverStore: ServerStore, caller: Caller): Promise<WebhookInfo[]> {
  requireScope(caller, 'photos.read')
  return (await serverStore.listWebhooks(caller.ownerId)).map(withoutSecret)
}

/** Deletes one of the caller's webhooks and its pending deliveries; someone else's is `NOT_FOUND`. */
export async function remove(
  serverStore: ServerStore,
  caller: Caller,
  input: { id: string },
): Promise<{ id: string }> {
  requireScope(caller, 'photos.write')
  const hook = await serverStore.getWebhook(input.id)
  if (!hook || hook.ownerId !== caller.ownerId) throw DarkroomError.notFound('Webhook', input.id)
  await serverStore.deleteWebhook(hook.id)
  return { id: hook.id }
}

function assertHttpUrl(value: string): string {
  let url: URL | null = null
  try {
    url = new URL(value)
  } catch {
    url = null
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw DarkroomError.validation([
      { property: 'url', message: 'The webhook URL must be an absolute http or https URL.' },
    ])
  }
  if (url.username || url.password) {
    throw DarkroomError.validation([
      { property: 'url', message: 'The webhook URL must not carry credentials.' },
    ])
  }
  return url.href
}

function withoutSecret(record: WebhookRecord): WebhookInfo {
  const { secret: _secret, ...info } = record
  return { ...info, events: [...info.events] }
}
