import { randomBytes } from 'node:crypto'
import type { Caller } from '@darkroom/core'
import { Upload } from '@tus/utils'
import { HttpProblem } from '../errors.js'
import type { TusDeps } from './deps.js'
import { bindToTicket, requireBound } from './guest-ticket.js'
import { removeQuietly } from './ingest.js'
import type { GuestTicket } from './request-locks.js'
import { PHOTO_ID_HEADER, UPLOAD_STATE_HEADER, tusHeaders } from './responses.js'
import { parseUploadMetadata, toTusMetadata, type UploadMetadata } from './upload-metadata.js'

/**
 * The tus concatenation extension, which `@tus/server` v2 only advertises: partial uploads
 * (`Upload-Concat: partial`, ids starting `part_`) are created and written by tus like any
 * other, but never looked at nor ingested alone; the final upload (`Upload-Concat: final;<urls>`)
 * is assembled here. With every partial locked, each is copied into the final upload through
 * the store's `write` (fsynced like any write), the partials are removed, and the final upload
 * is ingested like any other: its POST answers 201 with the photo. Stores without the extension
 * (S3) refuse it (501).
 */

const PARTIAL_PREFIX = 'part_'
const MAX_PARTS = 64

export function isPartial(id: string): boolean {
  return id.startsWith(PARTIAL_PREFIX)
}

/**
 * tus' `namingFunction`: a random id, marked when it names a partial upload, and bound to the
 * guest's ticket for a guest's upload.
 */
export function newUploadId(request: Request, guest?: GuestTicket | null): string {
  const random = randomBytes(16).toString('hex')
  const id =
    request.headers.get('upload-concat') === 'partial' ? `${PARTIAL_PREFIX}${random}` : random
  return guest ? bindToTicket(id, guest.ticket) : id
}

export function isFinalConcat(request: Request): boolean {
  return request.method === 'POST' && !!request.headers.get('upload-concat')?.startsWith('final;')
}

/** Creates, assembles and ingests the final upload that `request` asks for. */
export async function concatenate(
  request: Request,
  caller: Caller,
  deps: TusDeps,
  guest: GuestTicket | null = null,
): Promise<Response> {
  const { store, records, locks, path } = deps
  if (!store.hasExtension('concatenation')) {
    throw new HttpProblem(
      501,
      'NOT_IMPLEMENTED',
      `Concatenation is not supported with ${store.label}; upload the file in one tus upload.`,
    )
  }
  const metadata = parseUploadMetadata(request.headers.get('upload-metadata'))
  const partIds = partsOf(request.headers.get('upload-concat') ?? '', path)
  for (const id of partIds) {
    // A guest names only its own partial uploads (another guest's are missing to it).
    if (guest) requireBound(id, guest.ticket)
    await records.find(id, caller)
  }
  const finalId = newUploadId(request, guest)
  const photoId = await locks.hold([...partIds, finalId], () =>
    assemble(finalId, partIds, metadata, caller, deps),
  )
  return new Response(null, {
    status: 201,
    headers: tusHeaders({
      Location: `${path}/${finalId}`,
      'Upload-Concat': `final;${partIds.map((id) => `${path}/${id}`).join(' ')}`,
      [PHOTO_ID_HEADER]: photoId,
      [UPLOAD_STATE_HEADER]: 'ready',
    }),
  })
}

/** The ids of the partial uploads `final;<url> <url> ...` names (each once, each partial). */
function partsOf(header: string, path: string): string[] {
  const urls = header.slice('final;'.length).trim().split(/\s+/).filter(Boolean)
  if (urls.length === 0 || urls.length > MAX_PARTS) {
    throw new HttpProblem(400, 'BAD_REQUEST', 'Upload-Concat names no partial uploads.')
  }
  const ids = urls.map((url) => {
    const pathname = new URL(url, 'http://localhost').pathname
    const id = pathname.startsWith(`${path}/`) ? pathname.slice(path.length + 1) : ''
    if (!isPartial(id) || !/^[A-Za-z0-9_-]+$/.test(id)) {
      throw new HttpProblem(
        400,
        'BAD_REQUEST',
        'Upload-Concat names an upload that is not partial.',
      )
    }
    return id
  })
  if (new Set(ids).size !== ids.length) {
    throw new HttpProblem(400, 'BAD_REQUEST', 'Upload-Concat names a partial upload twice.')
  }
  return ids
}

/** Under the locks of every part and of the final upload: copy, remove the parts, ingest. */
async function assemble(
  finalId: string,
  partIds: readonly string[],
  metadata: UploadMetadata,
  caller: Caller,
  { darkroom, store, records, ingest, logger }: TusDeps,
): Promise<string> {
  const parts = await Promise.all(partIds.map((id) => store.getUpload(id)))
  for (const part of parts) {
    if (part.size === undefined || part.offset !== part.size) {
      throw new HttpProblem(409, 'CONFLICT', `Partial upload ${part.id} is not finished.`)
    }
  }
  const size = parts.reduce((sum, part) => sum + (part.size ?? 0), 0)
  await darkroom.photos.precheck(caller, { albumId: metadata.albumId, size })
  const upload = await store.create(
    new Upload({ id: finalId, size, offset: 0, metadata: toTusMetadata(metadata) }),
  )
  const { filename, albumId } = metadata
  await records.create(finalId, caller, { filename, albumId, size })
  for (const part of parts) {
    upload.offset = await store.write(await store.read(part.id), finalId, upload.offset)
  }
  for (const part of parts) {
    await removeQuietly(store, part.id, logger)
    await records.forget(part.id)
  }
  const photoId = await ingest.run(upload, caller)
  await removeQuietly(store, finalId, logger)
  return photoId
}
