import type { UploadRecord } from '@darkroom/core'
import { toHttpError } from '../errors.js'
import type { Logger } from '../logger.js'

/** What the tus handler answers itself, rather than `@tus/server`: Fetch `Response`s. */

export const PHOTO_ID_HEADER = 'Darkroom-Photo-Id'
export const UPLOAD_STATE_HEADER = 'Darkroom-Upload-State'
const TUS_VERSION = '1.0.0'

export function tusHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { 'Tus-Resumable': TUS_VERSION, ...extra }
}

export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  const text = JSON.stringify(body)
  return new Response(text, {
    status,
    headers: {
      ...headers,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(text)),
      'Cache-Control': 'no-store',
    },
  })
}

/** The mapped status and JSON body of `error` (see errors.ts), with its `Retry-After`. */
export function errorResponse(error: unknown, logger: Logger): Response {
  const mapped = toHttpError(error, logger)
  const extra = (error as { headers?: Record<string, string> } | null)?.headers ?? {}
  return jsonResponse(mapped.status, mapped.body, tusHeaders({ ...mapped.headers, ...extra }))
}

/**
 * The answer of a settled upload, whose bytes are gone: a HEAD of a ready one reports it
 * complete, with its photo; anything on a failed one is 410 with the reason. Null otherwise.
 */
export function settledResponse(record: UploadRecord, method: string): Response | null {
  if (record.state === 'ready' && record.photoId && method === 'HEAD') {
    const size = String(record.size ?? 0)
    return new Response(null, {
      status: 200,
      headers: tusHeaders({
        'Upload-Offset': size,
        'Upload-Length': size,
        'Cache-Control': 'no-store',
        [PHOTO_ID_HEADER]: record.photoId,
        [UPLOAD_STATE_HEADER]: 'ready',
      }),
    })
  }
  if (record.state === 'failed') {
    const message = record.error ?? 'The upload failed.'
    return jsonResponse(
      410,
      { error: { code: 'UPLOAD_FAILED', message } },
      tusHeaders({ [UPLOAD_STATE_HEADER]: 'failed' }),
    )
  }
  return null
}
