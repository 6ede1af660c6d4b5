import { TRPCClientError } from '@trpc/client'
import type { AppRouter } from '@darkroom/trpc'
import { CliError, UsageError } from './args.js'

/**
 * Any error a command throws, as the one paragraph the CLI prints and its exit code. A refused
 * key, a missing photo, an unreachable server each get a sentence that says what to do; a
 * Darkroom violation list is printed under its message.
 */
export function explain(error: unknown, baseUrl: string): { message: string; exitCode: number } {
  if (error instanceof UsageError) return { message: error.message, exitCode: 2 }
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode }
  if (isUnreachable(error)) {
    return {
      message:
        `Cannot reach the Darkroom server at ${baseUrl} (${networkCode(error) ?? rootMessage(error)}). ` +
        'Is it running? Set DARKROOM_URL or pass --url.',
      exitCode: 1,
    }
  }
  if (error instanceof TRPCClientError) {
    const e = error as TRPCClientError<AppRouter>
    const status = e.data?.httpStatus
    if (status === 401) {
      return {
        message: `The server refused the API key (401): ${e.message} Check DARKROOM_KEY or --key.`,
        exitCode: 1,
      }
    }
    if (status === 403) {
      return { message: `Not allowed (403): ${e.message}`, exitCode: 1 }
    }
    const violations = e.data?.darkroom?.violations ?? []
    const details = violations
      .filter((v) => v.message !== e.message)
      .map((v) => `\n  - ${v.property ? `${v.property}: ` : ''}${v.message}`)
      .join('')
    const code = e.data?.darkroom?.code ?? e.data?.code ?? 'ERROR'
    return {
      message: `${code}${status ? ` (${status})` : ''}: ${e.message}${details}`,
      exitCode: 1,
    }
  }
  const locked = lockedFile(error)
  if (locked !== null) {
    return {
      message:
        `${locked || 'A state file'} is locked by another process (ELOCKED): ` +
        'is another upload of this folder running? Run this again when it has finished.',
      exitCode: 1,
    }
  }
  return { message: error instanceof Error ? error.message : String(error), exitCode: 1 }
}

/** For proper-lockfile's `ELOCKED` (tus-js-client's URL store): the locked file, else null. */
function lockedFile(error: unknown): string | null {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current; depth++) {
    const { code, file } = current as { code?: unknown; file?: unknown }
    if (code === 'ELOCKED') return typeof file === 'string' ? file : ''
    current = (current as { cause?: unknown }).cause
  }
  return null
}

function rootMessage(error: unknown): string {
  let current: unknown = error
  for (let depth = 0; depth < 5 && (current as { cause?: unknown })?.cause; depth++) {
    current = (current as { cause?: unknown }).cause
  }
  return current instanceof Error ? current.message : 'no answer'
}

function networkCode(error: unknown): string | null {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && /^E[A-Z]+/.test(code)) return code
    current = (current as { cause?: unknown }).cause
  }
  return null
}

/** fetch's "fetch failed" (ECONNREFUSED, ENOTFOUND ...) however deep tRPC wrapped it. */
export function isUnreachable(error: unknown): boolean {
  const code = networkCode(error)
  if (code && /^(ECONNREFUSED|ENOTFOUND|ECONNRESET|EHOSTUNREACH|ETIMEDOUT|EAI_AGAIN)$/.test(code)) {
    return true
  }
  let current: unknown = error
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof TypeError && current.message === 'fetch failed') return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}
