import { DarkroomError, type Caller, type ServerStore, type UploadRecord } from '@darkroom/core'

/** `uploads.status`: the caller's own tus upload; someone else's is `NOT_FOUND`, like a missing one. */
export async function status(
  serverStore: ServerStore,
  caller: Caller,
  input: { id: string },
): Promise<UploadRecord> {
  const upload = await serverStore.getUpload(input.id)
  if (!upload || upload.ownerId !== caller.ownerId) throw DarkroomError.notFound('Upload', input.id)
  return upload
}
