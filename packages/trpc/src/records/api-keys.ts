import { createHash } from 'node:crypto'
import {
  DarkroomError,
  hasScope,
  isAdmin,
  systemClock,
  uuidV7Ids,
  type ApiKeyRecord,
  type Caller,
  type Clock,
  type IdGenerator,
  type Scope,
  type ServerStore,
  type Violation,
} from '@darkroom/core'
import { randomBase62 } from '../internal/random.js'

/**
 * API keys: `sk_` and 40 base62 characters (238 bits) from the CSPRNG. Only the sha256 of a key
 * is stored, with its first characters (`prefix`) to recognise it in a list; the key itself is
 * shown once, when it is created. A caller grants only scopes it holds itself; an admin grants
 * any, to any owner.
 */
export const API_KEY_SCOPES = [
  'photos.read',
  'photos.write',
  'admin',
] as const satisfies readonly Scope[]
export const API_KEY_PREFIX = 'sk_'
const KEY_BODY_LENGTH = 40
const PREFIX_LENGTH = API_KEY_PREFIX.length + 4

/** A key as listed: everything but its hash. */
export type ApiKeyInfo = Omit<ApiKeyRecord, 'hash'>

export interface CreatedApiKey {
  /** The key itself. It is not stored and cannot be shown again. */
  key: string
  apiKey: ApiKeyInfo
}

export interface CreateApiKeyInput {
  ownerId: string
  name: string
  scopes: readonly Scope[]
}

/** Where time and ids come from (tests pass their own). */
export interface KeyDeps {
  clock?: Clock
  ids?: IdGenerator
}

export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBase62(KEY_BODY_LENGTH)
}

/** sha256 of the whole key, hex: what `ServerStore` stores and looks keys up by. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex')
}

/** Whether a string has the shape of one of our keys (not whether it is valid). */
export function isApiKeyShaped(value: string): boolean {
  return /^sk_[0-9A-Za-z]{40}$/.test(value)
}

/**
 * Creates a key without any caller check: for the server's CLI and the admin key printed on
 * first start. Throws `VALIDATION` for an empty name or an unknown scope.
 *
 * @example
 * const { key } = await createApiKey(store.server, { ownerId: 'admin', name: 'first start', scopes: ['admin'] })
 */
export async function createApiKey(
  serverStore: ServerStore,
  input: CreateApiKeyInput,
  deps: KeyDeps = {},
): Promise<CreatedApiKey> {
  const name = input.name?.trim() ?? ''
  const violations: Violation[] = []
  if (typeof input.ownerId !== 'string' || input.ownerId.length === 0) {
    violations.push({ property: 'ownerId', message: 'An owner id is required.' })
  }
  if (name.length < 1 || name.length > 100) {
    violations.push({ property: 'name', message: 'The name has 1 to 100 characters.' })
  }
  const scopes = [...new Set(input.scopes ?? [])]
  if (scopes.length === 0) {
    violations.push({ property: 'scopes', message: 'Give at least one scope.' })
  }
  for (const scope of scopes) {
    if (!(API_KEY_SCOPES as readonly string[]).includes(scope)) {
      violations.push({
        property: 'scopes',
        message: `Unknown scope "${String(scope)}"; use ${API_KEY_SCOPES.join(', ')}.`,
      })
    }
  }
  if (violations.length > 0) throw DarkroomError.validation(violations)

  const key = generateApiKey()
  const record: ApiKeyRecord = {
    id: (deps.ids ?? uuidV7Ids).newId(),
    ownerId: input.ownerId,
    name,
    prefix: key.slice(0, PREFIX_LENGTH),
    hash: hashApiKey(key),
    scopes,
    createdAt: (deps.clock ?? systemClock).now(),
    lastUsedAt: null,
    revokedAt: null,
  }
  await serverStore.insertApiKey(record)
  return { key, apiKey: withoutHash(record) }
}

/** `keys.create`: a key for the caller (an admin: for anyone), with scopes the caller holds. */
export async function create(
  serverStore: ServerStore,
  caller: Caller,
  input: { name: string; scopes: readonly Scope[]; ownerId?: string | undefined },
  deps: KeyDeps = {},
): Promise<CreatedApiKey> {
  const ownerId = input.ownerId ?? caller.ownerId
  if (!isAdmin(caller)) {
    if (ownerId !== caller.ownerId) {
      throw new DarkroomError('FORBIDDEN', 'Only an admin may create keys for another owner.')
    }
    const missing = input.scopes.filter((s) => !hasScope(caller, s))
    if (missing.length > 0) {
      throw new DarkroomError(
        'FORBIDDEN',
        `A key cannot get scopes its creator does not hold: ${missing.join(', ')}.`,
      )
    }
  }
  return createApiKey(serverStore, { ownerId, name: input.name, scopes: input.scopes }, deps)
}

/** `keys.list`: the caller's own keys, oldest first, revoked ones included. */
export async function list(serverStore: ServerStore, caller: Caller): Promise<ApiKeyInfo[]> {
  return (await serverStore.listApiKeys(caller.ownerId)).map(withoutHash)
}

/** `keys.revoke`: one of the caller's own keys (someone else's is `NOT_FOUND`). Idempotent. */
export async function revoke(
  serverStore: ServerStore,
  caller: Caller,
  input: { id: string },
  deps: KeyDeps = {},
): Promise<ApiKeyInfo> {
  const own = (await serverStore.listApiKeys(caller.ownerId)).find((k) => k.id === input.id)
  if (!own) throw DarkroomError.notFound('API key', input.id)
  // As for create: a caller acts only on keys whose scopes it holds, so a read-only key handed to
  // a viewer cannot revoke its owner's write keys.
  const missing = isAdmin(caller) ? [] : own.scopes.filter((s) => !hasScope(caller, s as Scope))
  if (missing.length > 0) {
    throw new DarkroomError(
      'FORBIDDEN',
      `Revoking this key needs the scopes it grants (${missing.join(', ')}).`,
    )
  }
  const record = await serverStore.revokeApiKey(input.id, (deps.clock ?? systemClock).now())
  return withoutHash(record)
}

function withoutHash(record: ApiKeyRecord): ApiKeyInfo {
  const { hash: _hash, ...info } = record
  return { ...info, scopes: [...info.scopes] }
}
