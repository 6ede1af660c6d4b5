import { hostname } from 'node:os'
import { join } from 'node:path'
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { CliError } from './args.js'

/**
 * One `upload` of a folder at a time. Two runs over one folder would share its state files and
 * its unfinished uploads: each resumes the other's, both send the same bytes, and tus-js-client's
 * URL store (one lock file for the folder) refuses one of them mid-run. So a run takes
 * `<folder>/.darkroom-upload.lock` first, created exclusively and holding its pid and host;
 * a second run finds it and stops with one line saying so.
 *
 * A run that was killed leaves the file behind: on the same host, a lock whose pid is no longer
 * a running process is taken over. On another host (a shared folder) there is no telling, so
 * the message says which file to remove.
 */

export const LOCK_FILE = '.darkroom-upload.lock'

interface Holder {
  pid: number
  host: string
  startedAt: string
}

/** A lock file younger than this that cannot be read is being written: counted as held. */
const WRITING_MS = 5_000

/** Takes the folder's lock; resolves with the function that gives it back. */
export async function lockFolder(folder: string): Promise<() => Promise<void>> {
  const path = join(folder, LOCK_FILE)
  const me: Holder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(path, `${JSON.stringify(me)}\n`, { flag: 'wx' })
      return () => release(path, me)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code !== 'EEXIST') {
        throw new CliError(
          `Cannot write ${LOCK_FILE} in the folder (${code ?? (error as Error).message}): ` +
            'the upload keeps its state there, so the folder must be writable.',
        )
      }
    }
    const holder = await readHolder(path)
    if (holder === 'gone') continue
    if (holder === 'writing') throw busy(path, null)
    if (holder === null || !isRunning(holder)) {
      // Left by a run that was killed (or garbled long ago): take it over.
      await rm(path, { force: true })
      continue
    }
    throw busy(path, holder)
  }
  throw busy(path, null)
}

function busy(path: string, holder: Holder | null): CliError {
  const who = holder
    ? ` (pid ${holder.pid}${holder.host === hostname() ? '' : ` on ${holder.host}`}, ` +
      `started ${holder.startedAt})`
    : ''
  const elsewhere =
    holder && holder.host !== hostname() ? ` If it is not running there, remove ${path}.` : ''
  return new CliError(
    `Another upload of this folder is running${who}. Wait for it to finish (or stop it), ` +
      `then run this again.${elsewhere}`,
  )
}

/** The holder, null when the file is not a lock we can read, `gone` when it vanished. */
async function readHolder(path: string): Promise<Holder | null | 'gone' | 'writing'> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone'
    throw error
  }
  try {
    const parsed = JSON.parse(text) as Partial<Holder>
    if (Number.isInteger(parsed.pid) && typeof parsed.host === 'string') {
      return { pid: parsed.pid!, host: parsed.host, startedAt: String(parsed.startedAt ?? '?') }
    }
  } catch {
    // Not JSON: being written right now, or garbled.
  }
  const info = await stat(path).catch(() => null)
  if (!info) return 'gone'
  return Date.now() - info.mtimeMs < WRITING_MS ? 'writing' : null
}

/** On another host we cannot tell: it counts as running. */
function isRunning(holder: Holder): boolean {
  if (holder.host !== hostname()) return true
  if (holder.pid === process.pid) return false
  try {
    process.kill(holder.pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes the lock if it is still this run's (a takeover may have replaced it). */
async function release(path: string, me: Holder): Promise<void> {
  const holder = await readHolder(path).catch(() => null)
  if (holder && typeof holder === 'object' && holder.pid === me.pid && holder.host === me.host) {
    await rm(path, { force: true })
  }
}
