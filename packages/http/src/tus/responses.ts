import type { UploadRecord } from '@darkroom/core'
import { errorResponse as anyErrorResponse, json } from '../internal/responses.js'
import type { Logger } from '../logger.js'

/** What the tus handler answers itself, rather than `@tus/server`: Fetch `Response`s. */

export const PHOTO_ID_HEADER = 'Darkroom-Photo-Id'
export const UPLOAD_STATE_HEADER = 'Darkroom-Upload-State'
const TUS_VERSION = '1.0.0'

export function tusHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { 'Tus-Resumable': TUS_VERSION, ...extra }
}

/** The mapped status and JSON body of `error` (see errors.ts), with tus' version header. */
export function errorResponse(error: unknown, logger: Logger): Response {
  return anyErrorResponse(error, logger, tusHeaders())
}

/**
 * The answer of a settled upload, whose bytes are gone: a HEAD of a ready one reports it
 * complete, with its photo, and so does a PATCH that sends bytes again (a client retrying the
 * last PATCH whose answer it lost: idempotent, nothing is written); anything on a failed one is
 * 410 with the reason. Null otherwise.
 */
export function settledResponse(
  record: UploadRecord,
  method: string,
  request?: Request,
): Response | null {
  const photoId = record.state === 'ready' ? record.photoId : null
  if (photoId && method === 'PATCH') {
    const claimed = Number(request?.headers.get('upload-offset') ?? NaN)
    if (Number.isSafeInteger(claimed) && claimed >= 0 && claimed <= (record.size ?? 0)) {
      void request?.body?.cancel().catch(() => undefined)
      return new Response(null, {
        status: 204,
        headers: tusHeaders({
          'Upload-Offset': String(record.size ?? 0),
          'Cache-Control': 'no-store',
          [PHOTO_ID_HEADER]: photoId,
          [UPLOAD_STATE_HEADER]: 'ready',
        }),
      })
    }
  }
  if (photoId && method === 'HEAD') {
    const size = String(record.size ?? 0)
    return new Response(null, {
      status: 200,
      headers: tusHeaders({
        'Upload-Offset': size,
        'Upload-Length': size,
        'Cache-Control': 'no-store',
        [PHOTO_ID_HEADER]: photoId,
        [UPLOAD_STATE_HEADER]: 'ready',
      }),
    })
  }
  if (record.state === 'failed') {
    const message = record.error ?? 'The upload failed.'
    return json(
      410,
      { error: { code: 'UPLOAD_FAILED', message } },
      tusHeaders({ [UPLOAD_STATE_HEADER]: 'failed' }),
    )
  }
  return null
}
