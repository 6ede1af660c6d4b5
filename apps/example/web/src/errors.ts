import { TRPCClientError } from '@trpc/client'
import { DetailedError } from 'tus-js-client'
import { formatBytes } from './format.js'

/**
 * A person-readable sentence for anything the server refused: its violations when it names
 * them ("The file type application/pdf is not allowed ..."), its message otherwise.
 */

interface Cap {
  name: string
  limit: number
  current?: number
  requested?: number
}

interface ErrorBody {
  error?: {
    code?: string
    message?: string
    violations?: { property: string; message: string }[]
    cap?: Cap
  }
}

export function describeError(error: unknown): string {
  if (error instanceof TRPCClientError) {
    const data = error.data as
      { darkroom?: { violations?: { message: string }[]; cap?: Cap | null } } | undefined
    if (data?.darkroom?.cap) return describeCap(data.darkroom.cap, error.message)
    const violations = data?.darkroom?.violations?.map((v) => v.message).filter(Boolean) ?? []
    if (violations.length > 0) return unique(violations).join(' ')
    return error.message || 'The server refused the request.'
  }
  if (error instanceof DetailedError) return describeTusError(error)
  if (error instanceof Error) return error.message
  return String(error)
}

function describeTusError(error: DetailedError): string {
  const res = error.originalResponse
  if (!res) return 'The server could not be reached; the upload can be resumed.'
  const status = res.getStatus()
  let body: ErrorBody | null = null
  try {
    body = JSON.parse(res.getBody()) as ErrorBody
  } catch {
    body = null
  }
  if (body?.error?.cap) return describeCap(body.error.cap, body.error.message ?? '')
  const violations = body?.error?.violations?.map((v) => v.message).filter(Boolean) ?? []
  if (violations.length > 0) return unique(violations).join(' ')
  if (body?.error?.message) return body.error.message
  if (status === 401) return 'You are signed out: sign in again.'
  if (status === 413) return 'The file is too large for this server.'
  return `The upload was refused (HTTP ${status}).`
}

/** A cap in words a person knows (the server's message names the album by id). */
function describeCap(cap: Cap, fallback: string): string {
  if (cap.name === 'photoCap') {
    return `The album is full: it holds at most ${cap.limit} ${cap.limit === 1 ? 'photo' : 'photos'}.`
  }
  if (cap.name === 'quotaBytes') {
    return `Your storage quota of ${formatBytes(cap.limit)} would be passed (${formatBytes(cap.current ?? 0)} used).`
  }
  return fallback || `A limit was reached (${cap.name}: ${cap.limit}).`
}

function unique(list: string[]): string[] {
  return [...new Set(list)]
}
