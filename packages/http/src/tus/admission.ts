import type { Caller } from '@darkroom/core'
import type { Upload } from '@tus/utils'
import { HttpProblem } from '../errors.js'
import { authorize, type TusAccess } from './access.js'
import { parseChecksum } from './checksum.js'
import { concatenate, isFinalConcat, isPartial } from './concatenation.js'
import type { TusDeps } from './deps.js'
import { newTicket, requireBound, ticketOf } from './guest-ticket.js'
import { recover } from './recovery.js'
import type { GuestTicket, UploadRequest } from './request-locks.js'
import { settledResponse, tusHeaders } from './responses.js'
import { parseUploadMetadata, toTusMetadata } from './upload-metadata.js'

/**
 * What happens to a tus request before tus sees it: its caller may make it (access.ts); the
 * final upload of a concatenation is assembled here (concatenation.ts); a request for an
 * existing upload may be answered from its record (`answerFromRecord`); its `Upload-Checksum`
 * is read. Returns the answer when the request ends here, else its state, registered for tus
 * (request-locks.ts).
 */
export async function admit(
  request: Request,
  access: TusAccess,
  deps: TusDeps,
): Promise<Response | { request: Request; state: UploadRequest }> {
  const caller = await authorize(request, access)
  const guest = caller.anonymous ? guestOf(request, deps) : null
  if (isFinalConcat(request)) return concatenate(request, caller, deps, guest)
  const answer = request.method === 'POST' ? null : await answerFromRecord(request, caller, deps)
  if (answer) return answer
  const resent = request.method === 'PATCH' ? await skipResentBytes(request, deps) : request
  if (resent instanceof Response) return resent
  const checksum = parseChecksum(resent.headers.get('upload-checksum'), deps.store)
  const state = guest ? { caller, checksum, guest } : { caller, checksum }
  return { request: resent, state: deps.locks.begin(resent, state) }
}

/**
 * A guest's ticket (guest-ticket.ts): for a new upload, the one its cookie carries or a fresh
 * one (set as a cookie when the upload is created); for an existing upload, the one that made
 * it, or the upload is missing to this guest (404).
 */
function guestOf(request: Request, deps: TusDeps): GuestTicket {
  const ticket = ticketOf(request)
  if (request.method === 'POST') return ticket ? { ticket, fresh: false } : newGuestTicket()
  requireBound(uploadIdOf(request, deps.path), ticket)
  return { ticket: ticket!, fresh: false }
}

function newGuestTicket(): GuestTicket {
  return { ticket: newTicket(), fresh: true }
}

/**
 * A PATCH that sends again bytes the upload already has (a client that lost the answer to its
 * last PATCH and retries it) is idempotent rather than a 409: bytes wholly before the upload's
 * offset are acknowledged with that offset and not written again; a body that straddles it is
 * passed on from the offset. The bytes already stored stand (they are the same bytes a
 * retrying client sends). Needs a `Content-Length`, and no `Upload-Checksum` on a straddling
 * body (its checksum covers the whole body); otherwise tus answers as the protocol says (409).
 */
async function skipResentBytes(request: Request, deps: TusDeps): Promise<Request | Response> {
  const id = uploadIdOf(request, deps.path)
  const claimed = Number(request.headers.get('upload-offset') ?? NaN)
  const length = Number(request.headers.get('content-length') ?? NaN)
  if (!id || !Number.isSafeInteger(claimed) || !Number.isSafeInteger(length) || !request.body) {
    return request
  }
  const upload = await deps.store.getUpload(id).catch(() => null)
  const offset = upload?.offset ?? 0
  if (!upload || claimed < 0 || claimed >= offset) return request
  if (claimed + length <= offset) {
    void request.body.cancel().catch(() => undefined)
    return new Response(null, {
      status: 204,
      headers: tusHeaders({ 'Upload-Offset': String(offset), 'Cache-Control': 'no-store' }),
    })
  }
  if (request.headers.has('upload-checksum')) return request
  const headers = new Headers(request.headers)
  headers.set('upload-offset', String(offset))
  headers.set('content-length', String(claimed + length - offset))
  return new Request(request.url, {
    method: 'PATCH',
    headers,
    body: request.body.pipeThrough(skipBytes(offset - claimed)),
    signal: request.signal,
    duplex: 'half',
  } as RequestInit)
}

/** A stream that drops the first `count` bytes. */
function skipBytes(count: number): TransformStream<Uint8Array, Uint8Array> {
  let left = count
  return new TransformStream({
    transform(chunk, controller) {
      if (left >= chunk.byteLength) {
        left -= chunk.byteLength
        return
      }
      controller.enqueue(left > 0 ? chunk.subarray(left) : chunk)
      left = 0
    },
  })
}

/**
 * A new upload (tus' `onUploadCreate`), refused before any byte flows: its `Upload-Metadata` is
 * parsed strictly (400), and `darkroom.photos.precheck` refuses an upload too large (413), into
 * a full album, past the quota, or past the caller's unfinished uploads (400). Its record is created `receiving`, and the metadata tus
 * keeps (and echoes on HEAD) is the sanitised one; a partial upload keeps none.
 */
export async function admitNewUpload(
  request: Request,
  upload: Upload,
  caller: Caller,
  { darkroom, records, unfinished }: TusDeps,
): Promise<Record<string, string>> {
  const partial = isPartial(upload.id)
  const metadata = parseUploadMetadata(request.headers.get('upload-metadata'))
  const albumId = partial ? null : metadata.albumId
  const size = upload.size ?? null
  await darkroom.photos.precheck(caller, { albumId, size })
  await records.create(
    upload.id,
    caller,
    { filename: metadata.filename, albumId, size },
    unfinished,
  )
  return partial ? {} : toTusMetadata(metadata)
}

/**
 * A request for an existing upload (HEAD, PATCH, DELETE), before tus sees it: the upload must
 * be the caller's (anyone else's is 404, like a missing one); a HEAD first recovers an upload
 * a crash left complete but not ingested; a settled upload, whose bytes are gone, is answered
 * from its record (see `settledResponse`), and deleting it forgets the record. Returns the
 * answer, or null when tus handles the request.
 */
export async function answerFromRecord(
  request: Request,
  caller: Caller,
  deps: TusDeps,
): Promise<Response | null> {
  const method = request.method
  let record = await deps.records.find(uploadIdOf(request, deps.path), caller)
  if (method === 'HEAD') record = await recover(record, deps)
  if (method === 'DELETE' && record.state === 'processing') {
    throw new HttpProblem(409, 'CONFLICT', 'The upload is being processed.')
  }
  if (method === 'DELETE' && record.state !== 'receiving') {
    await deps.records.forget(record.id)
    return new Response(null, { status: 204, headers: tusHeaders() })
  }
  return settledResponse(record, method, request)
}

/** The upload id in the request's path (`<path>/<id>`), or null. */
export function uploadIdOf(request: Request, path: string): string | null {
  const pathname = new URL(request.url).pathname
  if (!pathname.startsWith(`${path}/`)) return null
  const id = pathname.slice(path.length + 1).replace(/\/$/, '')
  return /^[A-Za-z0-9_-]{1,128}$/.test(id) ? id : null
}
