import { useState, type FormEvent } from 'react'
import type { DarkroomClient } from '../../src/client.js'
import { describeError } from './errors.js'
import type { Album, View } from './types.js'

export function Sidebar({
  client,
  albums,
  view,
  onView,
  onAlbumCreated,
  onSignOut,
  ownerId,
}: {
  client: DarkroomClient
  /** Who is signed in: shown beside Sign out, so that a switch of identity is visible. */
  ownerId: string
  albums: Album[]
  view: View
  onView: (view: View) => void
  onAlbumCreated: (album: Album) => void
  onSignOut: () => void
}) {
  const [title, setTitle] = useState('')
  const [cap, setCap] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function create(event: FormEvent) {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const photoCap = cap.trim() === '' ? null : Number(cap)
      const album = await client.albums.create.mutate({ title: title.trim(), photoCap })
      setTitle('')
      setCap('')
      onAlbumCreated(album)
    } catch (err) {
      setError(describeError(err))
    } finally {
      setBusy(false)
    }
  }

  const current = (v: View) => JSON.stringify(v) === JSON.stringify(view)
  const item = (v: View, label: string, detail?: string) => (
    <li key={JSON.stringify(v)}>
      <button
        type="button"
        className="nav-item"
        aria-current={current(v) ? 'page' : undefined}
        onClick={() => onView(v)}
      >
        <span>{label}</span>
        {detail && <span className="count">{detail}</span>}
      </button>
    </li>
  )

  return (
    <nav className="sidebar" aria-label="Albums">
      <p className="brand">Darkroom</p>
      <ul className="nav">
        {item({ kind: 'all' }, 'All photos')}
        {albums.map((album) =>
          item(
            { kind: 'album', albumId: album.id },
            album.title,
            album.photoCap === null
              ? String(album.photoCount)
              : `${album.photoCount}/${album.photoCap}`,
          ),
        )}
        {item({ kind: 'trash' }, 'Trash')}
      </ul>
      <form className="new-album" onSubmit={(e) => void create(e)}>
        <h2>New album</h2>
        <label htmlFor="album-title">Title</label>
        <input
          id="album-title"
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          required
          maxLength={200}
          placeholder="e.g. Holidays"
        />
        <label htmlFor="album-cap">Photo cap (optional)</label>
        <input
          id="album-cap"
          type="number"
          inputMode="numeric"
          min={0}
          step={1}
          value={cap}
          onChange={(e) => setCap(e.target.value)}
          placeholder="no cap"
        />
        <button type="submit" disabled={busy || title.trim() === ''}>
          Create album
        </button>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </form>
      <p className="signed-in-as hint">
        Signed in as <strong>{ownerId}</strong>
      </p>
      <button type="button" className="sign-out" onClick={onSignOut}>
        Sign out
      </button>
    </nav>
  )
}
