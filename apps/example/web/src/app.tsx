import { useCallback, useEffect, useRef, useState } from 'react'
import { describeError } from './errors.js'
import { Grid } from './grid.js'
import {
  exchangeCode,
  inspectCode,
  KEY_LINK_REFUSED,
  signIn,
  signOut,
  storedCredential,
  takeSignInLink,
  type Session,
  type SignInLink,
} from './session.js'
import { Sidebar } from './sidebar.js'
import { SignIn } from './sign-in.js'
import type { Album, View } from './types.js'
import { Uploader } from './uploader.js'

/**
 * The gallery: sign-in, then albums on the side, the drop zone and the grid of the view.
 * A sign-in link (`#code=`) never switches identity by itself: the page says who is signed in
 * and whom the link signs in, and keeps the current identity unless the person confirms.
 */
export function App() {
  const [session, setSession] = useState<Session | null>(null)
  const [booting, setBooting] = useState(true)
  const [bootError, setBootError] = useState<string | null>(null)
  const [notice, setNotice] = useState<{ text: string } | null>(null)
  const [pending, setPending] = useState<{ code: string; ownerId: string } | null>(null)

  useEffect(() => {
    const onLink = async (link: SignInLink) => {
      if (!link) return
      if (link.kind === 'key') {
        setNotice({ text: KEY_LINK_REFUSED })
        return
      }
      try {
        setPending({ code: link.code, ownerId: await inspectCode(link.code) })
      } catch (error) {
        setNotice({ text: describeError(error) })
      }
    }
    const start = async () => {
      // The link leaves the address bar before anything else happens.
      const link = takeSignInLink()
      const stored = storedCredential()
      if (stored) {
        try {
          setSession(await signIn(stored))
        } catch (error) {
          setBootError(describeError(error))
        }
      }
      await onLink(link)
      setBooting(false)
    }
    void start()
    // A sign-in link opened in a tab that already shows the page.
    const onHash = () => {
      if (/(^#|&)(key|code)=/.test(location.hash)) void onLink(takeSignInLink())
    }
    window.addEventListener('hashchange', onHash)
    return () => window.removeEventListener('hashchange', onHash)
  }, [])

  if (booting) return <p className="booting">Loading…</p>
  if (pending) {
    return (
      <ConfirmSignIn
        current={session?.ownerId ?? null}
        next={pending.ownerId}
        onCancel={() => setPending(null)}
        onConfirm={async () => {
          if (session) await signOut(session)
          setSession(await exchangeCode(pending.code))
          setBootError(null)
          setNotice(null)
          setPending(null)
        }}
      />
    )
  }
  if (!session) {
    return (
      <SignIn
        key={notice?.text ?? ''}
        initialError={notice?.text ?? bootError}
        onSignedIn={(next) => {
          setNotice(null)
          setSession(next)
        }}
      />
    )
  }
  return (
    <Library
      session={session}
      notice={notice}
      onSignOut={() => {
        void signOut(session)
        setSession(null)
      }}
    />
  )
}

/**
 * Asks before a sign-in link changes who is signed in. The default (focused, and what Escape
 * does) keeps the current identity.
 */
function ConfirmSignIn({
  current,
  next,
  onCancel,
  onConfirm,
}: {
  current: string | null
  next: string
  onCancel: () => void
  onConfirm: () => Promise<void>
}) {
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const keep = current && current !== next ? `Stay signed in as ${current}` : 'Cancel'
  return (
    <main
      className="sign-in confirm"
      role="alertdialog"
      aria-labelledby="confirm-title"
      aria-describedby="confirm-text"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onCancel()
      }}
    >
      <h1 id="confirm-title">Sign in with this link?</h1>
      <p id="confirm-text">
        {current ? (
          <>
            You are signed in as <strong>{current}</strong>. This link signs in as{' '}
            <strong>{next}</strong> instead: what you upload then goes to <strong>{next}</strong>.
          </>
        ) : (
          <>
            This link signs you in as <strong>{next}</strong>. Go on only if you asked for it: what
            you upload then goes to <strong>{next}</strong>.
          </>
        )}
      </p>
      <div className="actions">
        <button type="button" autoFocus onClick={onCancel}>
          {keep}
        </button>
        <button
          type="button"
          disabled={busy}
          onClick={() => {
            setBusy(true)
            setError(null)
            onConfirm().catch((err: unknown) => {
              setError(describeError(err))
              setBusy(false)
            })
          }}
        >
          Sign in as {next}
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </main>
  )
}

function Library({
  session,
  notice,
  onSignOut,
}: {
  session: Session
  notice: { text: string } | null
  onSignOut: () => void
}) {
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

  // A refused sign-in link says so where the person looks.
  useEffect(() => {
    if (notice) setStatus(notice.text)
  }, [notice])

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
        ownerId={session.ownerId}
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
