import { createDarkroomClient, type DarkroomClient } from '../../src/client.js'

/**
 * The signed-in key. It arrives typed into the sign-in form or in the URL fragment the server
 * prints on first start (`/#key=sk_...`; a fragment never reaches a server or a log), is kept
 * in localStorage, and is handed to the server once per visit (`POST /session`) so that it
 * can set the HttpOnly cookie `<img>` and `<video>` need to load private pictures.
 */

const STORAGE_KEY = 'darkroom.apiKey'

export interface Session {
  key: string
  client: DarkroomClient
}

/** Reads `#key=` (and removes it from the address bar), else the stored key. */
export function initialKey(): string | null {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''))
  const fromUrl = fragment.get('key')
  if (fromUrl) {
    history.replaceState(null, '', location.pathname + location.search)
    return fromUrl.trim()
  }
  try {
    return localStorage.getItem(STORAGE_KEY)
  } catch {
    return null
  }
}

/** Checks the key against the server, sets the picture cookie and keeps the key. */
export async function signIn(key: string): Promise<Session> {
  const trimmed = key.trim()
  if (!/^sk_[A-Za-z0-9]+$/.test(trimmed)) {
    throw new Error('An API key looks like sk_ followed by letters and digits.')
  }
  const res = await fetch('/session', {
    method: 'POST',
    headers: { authorization: `Bearer ${trimmed}` },
    credentials: 'same-origin',
  })
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null
    throw new Error(
      res.status === 401
        ? 'This API key was not accepted: check it, or ask for a new one.'
        : (body?.error?.message ?? `Sign-in failed (HTTP ${res.status}).`),
    )
  }
  try {
    localStorage.setItem(STORAGE_KEY, trimmed)
  } catch {
    // Private mode: the session lasts as long as the tab.
  }
  return {
    key: trimmed,
    client: createDarkroomClient({ baseUrl: location.origin, apiKey: trimmed }),
  }
}

export async function signOut(): Promise<void> {
  try {
    localStorage.removeItem(STORAGE_KEY)
  } catch {
    // nothing stored
  }
  await fetch('/session', { method: 'DELETE', credentials: 'same-origin' }).catch(() => undefined)
}
