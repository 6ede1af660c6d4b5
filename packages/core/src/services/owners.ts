import { DarkroomError, type Violation } from '../errors.js'
import type { Caller, OwnerRecord } from '../domain/types.js'
import { requireScope } from '../internal/access.js'
import type { MetadataOps } from '../ports/metadata-store.js'
import type { ServiceContext } from './context.js'

export interface OwnerInfo {
  ownerId: string
  /** The quota that applies: the owner's own, else `limits.defaultQuotaBytes`; null: none. */
  quotaBytes: number | null
  /** Bytes of every photo of the owner, trash and pending included. */
  usedBytes: number
  /** The profile picture; null when none (or when it was deleted). */
  profilePhotoId: string | null
}

/** The caller's own storage use, quota and profile picture. */
export async function me(ctx: ServiceContext, caller: Caller): Promise<OwnerInfo> {
  requireScope(caller, 'photos.read')
  return ownerInfo(ctx, ctx.store, caller.ownerId)
}

/**
 * Sets an owner's quota in bytes (null: the configured default). Needs `admin`. Returns the
 * owner as `me` shows it.
 */
export async function setQuota(
  ctx: ServiceContext,
  caller: Caller,
  input: { ownerId: string; quotaBytes: number | null },
): Promise<OwnerInfo> {
  requireScope(caller, 'admin')
  const violations: Violation[] = []
  if (typeof input.ownerId !== 'string' || input.ownerId.trim() === '') {
    violations.push({ property: 'ownerId', message: 'An owner id is required.' })
  }
  if (
    input.quotaBytes !== null &&
    (!Number.isSafeInteger(input.quotaBytes) || input.quotaBytes < 0)
  ) {
    violations.push({
      property: 'quotaBytes',
      message: 'The quota is a whole number of bytes from 0.',
    })
  }
  if (violations.length > 0) throw DarkroomError.validation(violations)
  await ctx.store.transaction(async (tx) => {
    const owner: OwnerRecord = await tx.lockOwner(input.ownerId)
    await tx.upsertOwner({ ...owner, quotaBytes: input.quotaBytes })
  })
  return ownerInfo(ctx, ctx.store, input.ownerId)
}

async function ownerInfo(
  ctx: ServiceContext,
  db: MetadataOps,
  ownerId: string,
): Promise<OwnerInfo> {
  const owner = await db.getOwner(ownerId)
  return {
    ownerId,
    quotaBytes: owner?.quotaBytes ?? ctx.config.limits.defaultQuotaBytes,
    usedBytes: await db.sumOwnerBytes(ownerId),
    profilePhotoId: owner?.profilePhotoId ?? null,
  }
}
