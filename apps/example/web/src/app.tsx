import { useCallback, useEffect, useRef, useState } from 'react'
import { describeError } from './errors.js'
import { Grid } from './grid.js'
import { initialKey, signIn, signOut, type Session } from './session.js'
import { Sidebar } from './sidebar.js'
import { SignIn } from './sign-in.js'
import type { Album, View } from './types.js'
import { Uploader } from './uploader.js'

/** The gallery: sign-in, then albums on the side, the drop zone and the grid of the view. */
export function App() {
  const [session, setSession] = useState<Session | null>(null)
  const [booting, setBooting] = useState(true)
  const [bootError, setBootError] = useState<string | null>(null)

  useEffect(() => {
    const start = () => {
      const key = initialKey()
      if (!key) {
        setBooting(false)
        return
      }
      signIn(key)
        .then(setSession)
        .catch((error: unknown) => setBootError(describeError(error)))
        .finally(() => setBooting(false))
    }
    start()
    // The printed `#key=` link opened in a tab that already shows the page.
    const onHash = () => {
      if (/(^#|&)key=/.test(location.hash)) start()
    }
    window.addEventListener('hashchange', onHash)
    return () => window.removeEventListener('hashchange', onHash)
  }, [])

  if (booting) return <p className="booting">Loading…</p>
  if (!session) {
    return <SignIn initialError={bootError} onSignedIn={setSession} />
  }
  return (
    <Library
      session={session}
      onSignOut={() => {
        void signOut()
        setSession(null)
      }}
    />
  )
}

function Library({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const { client } = session
  const [albums, setAlbums] = useState<Album[]>([])
  const [view, setView] = useState<View>(viewFromHash)
  const [showHidden, setShowHidden] = useState(false)
  const [reloadToken, setReloadToken] = useState(0)
  const [status, setStatus] = useState('')
  const reloadTimer = useRef<ReturnType<typeof setTimeout> | null>(null)

  const loadAlbums = useCallback(async () => {
    try {
      setAlbums(await client.albums.list.query())
    } catch (error) {
      setStatus(describeError(error))
    }
  }, [client])

  useEffect(() => {
    void loadAlbums()
  }, [loadAlbums])

  // A message stays long enough to be read, then goes.
  useEffect(() => {
    if (!status) return
    const timer = setTimeout(() => setStatus(''), 6000)
    return () => clearTimeout(timer)
  }, [status])

  // The view lives in the address (`#album/<id>`, `#trash`): a reload or a link keeps it.
  useEffect(() => {
    const hash = hashOf(view)
    if (location.hash !== hash) history.replaceState(null, '', hash || location.pathname)
  }, [view])

  /** Several uploads finishing together reload the grid once. */
  const onUploaded = useCallback(() => {
    if (reloadTimer.current) clearTimeout(reloadTimer.current)
    reloadTimer.current = setTimeout(() => {
      setReloadToken((n) => n + 1)
      void loadAlbums()
    }, 250)
  }, [loadAlbums])

  const album = view.kind === 'album' ? albums.find((a) => a.id === view.albumId) : undefined
  const title =
    view.kind === 'trash'
      ? 'Trash'
      : view.kind === 'album'
        ? (album?.title ?? 'Album')
        : 'All photos'

  return (
    <div className="layout">
      <a className="skip-link" href="#main">
        Skip to photos
      </a>
      <Sidebar
        client={client}
        albums={albums}
        view={view}
        onView={setView}
        onAlbumCreated={(created) => {
          setAlbums((list) => [...list, created])
          setView({ kind: 'album', albumId: created.id })
          setStatus(`Album “${created.title}” created.`)
        }}
        onSignOut={onSignOut}
      />
      <main id="main" tabIndex={-1}>
        <header className="view-header">
          <h1>{title}</h1>
          {album && (
            <p className="album-meta">
              {album.photoCount} {album.photoCount === 1 ? 'photo' : 'photos'}
              {album.photoCap !== null && ` of at most ${album.photoCap}`}
            </p>
          )}
          {view.kind !== 'trash' && (
            <label className="toggle">
              <input
                type="checkbox"
                checked={showHidden}
                onChange={(e) => setShowHidden(e.target.checked)}
              />{' '}
              Show hidden photos
            </label>
          )}
        </header>
        {view.kind !== 'trash' && (
          <Uploader
            session={session}
            albumId={view.kind === 'album' ? view.albumId : null}
            albumTitle={album?.title ?? null}
            onUploaded={onUploaded}
          />
        )}
        <Grid
          key={`${JSON.stringify(view)}:${showHidden}`}
          client={client}
          view={view}
          showHidden={showHidden}
          reloadToken={reloadToken}
          onStatus={setStatus}
          onChanged={() => void loadAlbums()}
        />
      </main>
      <div className="status" role="status" aria-live="polite">
        {status}
      </div>
    </div>
  )
}

function viewFromHash(): View {
  const hash = location.hash.replace(/^#/, '')
  if (hash === 'trash') return { kind: 'trash' }
  const album = /^album\/([A-Za-z0-9_-]+)$/.exec(hash)
  return album ? { kind: 'album', albumId: album[1]! } : { kind: 'all' }
}

function hashOf(view: View): string {
  if (view.kind === 'trash') return '#trash'
  if (view.kind === 'album') return `#album/${view.albumId}`
  return ''
}
