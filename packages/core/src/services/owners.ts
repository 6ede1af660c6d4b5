import { DarkroomError } from '../errors.js'
import type { Caller, OwnerRecord } from '../domain/types.js'
import { requireScope } from '../internal/access.js'
import type { ServiceContext } from './context.js'

export interface OwnerInfo {
  ownerId: string
  quotaBytes: number | null
  usedBytes: number
  profilePhotoId: string | null
}

/** The caller's own storage use, quota and profile picture. */
export async function me(ctx: ServiceContext, caller: Caller): Promise<OwnerInfo> {
  requireScope(caller, 'photos.read')
  const owner = await ctx.store.getOwner(caller.ownerId)
  return {
    ownerId: caller.ownerId,
    quotaBytes: owner?.quotaBytes ?? ctx.config.limits.defaultQuotaBytes,
    usedBytes: await ctx.store.sumOwnerBytes(caller.ownerId),
    profilePhotoId: owner?.profilePhotoId ?? null,
  }
}

/** Sets an owner's quota in bytes (null: the configured default). Needs `admin`. */
export async function setQuota(
  ctx: ServiceContext,
  caller: Caller,
  input: { ownerId: string; quotaBytes: number | null },
): Promise<void> {
  requireScope(caller, 'admin')
  if (input.quotaBytes !== null && (!Number.isInteger(input.quotaBytes) || input.quotaBytes < 0)) {
    throw DarkroomError.validation([
      { property: 'quotaBytes', message: 'The quota is a whole number of bytes from 0.' },
    ])
  }
  await ctx.store.transaction(async (tx) => {
    const owner: OwnerRecord = await tx.lockOwner(input.ownerId)
    await tx.upsertOwner({ ...owner, quotaBytes: input.quotaBytes })
  })
}
