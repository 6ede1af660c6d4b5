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
import { checkWebhookUrl, type WebhookUrlPolicy } from './webhook-url.js'

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

/** What `create` checks a new webhook against. */
export interface WebhookRules {
  /** Where webhooks may point (see webhook-url.ts); default: public addresses on 80/443. */
  urlPolicy?: WebhookUrlPolicy
  /** Webhooks one owner may have; default 10. Each event is delivered to every one of them. */
  maxPerOwner?: number
}

export const DEFAULT_MAX_WEBHOOKS_PER_OWNER = 10

export async function create(
  serverStore: ServerStore,
  caller: Caller,
  input: { url: string; events?: readonly DarkroomEventType[] | undefined },
  deps: KeyDeps & WebhookRules = {},
): Promise<CreatedWebhook> {
  // Subscribing changes what the server does on the owner's behalf: a write, like uploading.
  // And every delivery carries the photo as `photos.get` shows it (EXIF, GPS, caption): a key
  // that may not read photos may not have them sent somewhere either.
  requireScope(caller, 'photos.write')
  requireScope(caller, 'photos.read')
  const url = await checkWebhookUrl(input.url, deps.urlPolicy)
  const max = deps.maxPerOwner ?? DEFAULT_MAX_WEBHOOKS_PER_OWNER
  const current = (await serverStore.listWebhooks(caller.ownerId)).length
  if (current >= max) {
    throw new DarkroomError(
      'CAP_EXCEEDED',
      `An owner has at most ${max} webhooks; delete one first.`,
      { cap: { name: 'webhooksPerOwner', limit: max, current, requested: 1 } },
    )
  }
  const record: WebhookRecord = {
    id: (deps.ids ?? uuidV7Ids).newId(),
    ownerId: caller.ownerId,
    url,
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

function withoutSecret(record: WebhookRecord): WebhookInfo {
  const { secret: _secret, ...info } = record
  return { ...info, events: [...info.events] }
}
