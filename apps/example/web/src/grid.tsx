import {
  useCallback,
  useEffect,
  useRef,
  useState,
  type KeyboardEvent,
  type PointerEvent,
} from 'react'
import type { DarkroomClient } from '../../src/client.js'
import { Detail } from './detail.js'
import { describeError } from './errors.js'
import { altText, formatDuration, placeholderOf, smallestOf, srcSetOf } from './format.js'
import type { Photo, View } from './types.js'

/**
 * The grid of a view: pages of `photos.list` on the keyset cursor, loaded as the end of the
 * grid scrolls near (and by a button, for keyboards). In an album, photos are in the album's
 * own order and can be moved: drag a tile's handle onto another tile, or focus the handle and
 * use the arrow keys; each move is one `photos.reorder` (before/after its new neighbour).
 */

const PAGE = 40

type ListInput = NonNullable<Parameters<DarkroomClient['photos']['list']['query']>[0]>

function listInput(view: View, showHidden: boolean): ListInput {
  if (view.kind === 'trash') return { trashed: true, sort: 'uploaded', order: 'desc' }
  const hidden = showHidden ? {} : { hidden: false }
  if (view.kind === 'album') return { albumId: view.albumId, sort: 'position', ...hidden }
  return { sort: 'uploaded', order: 'desc', ...hidden }
}

export function Grid({
  client,
  view,
  showHidden,
  reloadToken,
  onStatus,
  onChanged,
}: {
  client: DarkroomClient
  view: View
  showHidden: boolean
  reloadToken: number
  onStatus: (message: string) => void
  onChanged: () => void
}) {
  const [items, setItems] = useState<Photo[]>([])
  const [total, setTotal] = useState<number | null>(null)
  const [cursor, setCursor] = useState<string | null>(null)
  const [loading, setLoading] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [openId, setOpenId] = useState<string | null>(null)
  const [dragId, setDragId] = useState<string | null>(null)
  const [dropId, setDropId] = useState<string | null>(null)
  const request = useRef(0)
  const itemsRef = useRef(items)
  itemsRef.current = items
  const sentinel = useRef<HTMLDivElement>(null)
  const canReorder = view.kind === 'album'

  const load = useCallback(
    async (after: string | null, limit = PAGE) => {
      const id = ++request.current
      setLoading(true)
      setError(null)
      try {
        const page = await client.photos.list.query({
          ...listInput(view, showHidden),
          limit,
          ...(after ? { cursor: after } : {}),
        })
        if (id !== request.current) return
        setItems((list) => (after ? [...list, ...page.items] : page.items))
        setCursor(page.nextCursor)
        setTotal(page.total)
      } catch (err) {
        if (id === request.current) setError(describeError(err))
      } finally {
        if (id === request.current) setLoading(false)
      }
    },
    [client, view, showHidden],
  )

  // First page, and again after uploads (as many as are shown, so the scroll position holds).
  useEffect(() => {
    void load(null, Math.min(200, Math.max(PAGE, itemsRef.current.length + 3)))
  }, [load, reloadToken])

  // Infinite scroll: the next page when the end of the grid comes within a screen.
  useEffect(() => {
    const node = sentinel.current
    if (!node || !cursor || loading) return
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) void load(cursor)
      },
      { rootMargin: '800px 0px' },
    )
    observer.observe(node)
    return () => observer.disconnect()
  }, [cursor, loading, load])

  const replace = (photo: Photo) =>
    setItems((list) => list.map((p) => (p.id === photo.id ? photo : p)))
  const remove = (id: string) => {
    setItems((list) => list.filter((p) => p.id !== id))
    setTotal((t) => (t === null ? t : Math.max(0, t - 1)))
  }

  async function setHidden(photo: Photo, hidden: boolean) {
    try {
      const updated = await client.photos.update.mutate({ id: photo.id, hidden })
      if (hidden && !showHidden) {
        remove(photo.id)
        if (openId === photo.id) setOpenId(null)
        onStatus(`${photo.filename} is hidden. Tick “Show hidden photos” to see it.`)
      } else {
        // A key without photos.read is answered a receipt (no photo data): keep what is shown.
        replace('withheld' in updated ? { ...photo, hidden } : updated)
        onStatus(`${photo.filename} is ${hidden ? 'hidden' : 'visible again'}.`)
      }
    } catch (err) {
      onStatus(describeError(err))
    }
  }

  async function trash(photo: Photo) {
    try {
      await client.photos.delete.mutate({ id: photo.id })
      remove(photo.id)
      if (openId === photo.id) setOpenId(null)
      onStatus(`${photo.filename} moved to the trash.`)
      onChanged()
    } catch (err) {
      onStatus(describeError(err))
    }
  }

  async function restore(photo: Photo) {
    try {
      await client.photos.restore.mutate({ id: photo.id })
      remove(photo.id)
      if (openId === photo.id) setOpenId(null)
      onStatus(`${photo.filename} restored.`)
      onChanged()
    } catch (err) {
      onStatus(describeError(err))
    }
  }

  /** Moves `id` to where `targetId` is now; persists with one reorder call. */
  async function move(id: string, targetId: string) {
    const before = itemsRef.current
    const from = before.findIndex((p) => p.id === id)
    const to = before.findIndex((p) => p.id === targetId)
    if (from < 0 || to < 0 || from === to) return
    const photo = before[from]!
    const target = before[to]!
    const rest = before.filter((p) => p.id !== id)
    const at = rest.findIndex((p) => p.id === targetId) + (from < to ? 1 : 0)
    setItems([...rest.slice(0, at), photo, ...rest.slice(at)])
    try {
      await client.photos.reorder.mutate(
        from < to ? { id, after: targetId } : { id, before: targetId },
      )
      onStatus(`${photo.filename} moved ${from < to ? 'after' : 'before'} ${target.filename}.`)
    } catch (err) {
      setItems(before)
      onStatus(describeError(err))
    }
    // Moving a focused node drops its focus; give it back to the handle.
    requestAnimationFrame(() =>
      document.querySelector<HTMLElement>(`[data-handle-for="${CSS.escape(id)}"]`)?.focus(),
    )
  }

  // ---- dragging a handle (pointer events: mouse, pen and touch alike)
  const drag = useRef<{ id: string; x: number; y: number; active: boolean } | null>(null)
  const tileAt = (x: number, y: number) =>
    document.elementFromPoint(x, y)?.closest<HTMLElement>('[data-photo-id]')?.dataset.photoId ??
    null

  function onPointerDown(event: PointerEvent<HTMLButtonElement>, id: string) {
    if (event.button !== 0) return
    event.currentTarget.setPointerCapture(event.pointerId)
    drag.current = { id, x: event.clientX, y: event.clientY, active: false }
  }
  function onPointerMove(event: PointerEvent<HTMLButtonElement>) {
    const d = drag.current
    if (!d) return
    if (!d.active && Math.hypot(event.clientX - d.x, event.clientY - d.y) > 4) {
      d.active = true
      setDragId(d.id)
    }
    if (d.active) {
      const over = tileAt(event.clientX, event.clientY)
      setDropId(over && over !== d.id ? over : null)
    }
  }
  function onPointerUp(event: PointerEvent<HTMLButtonElement>) {
    const d = drag.current
    drag.current = null
    setDragId(null)
    setDropId(null)
    if (!d?.active) return
    const over = tileAt(event.clientX, event.clientY)
    if (over && over !== d.id) void move(d.id, over)
  }
  function onPointerCancel() {
    drag.current = null
    setDragId(null)
    setDropId(null)
  }
  function onHandleKey(event: KeyboardEvent<HTMLButtonElement>, index: number) {
    const list = itemsRef.current
    const id = list[index]?.id
    if (!id) return
    const delta =
      event.key === 'ArrowLeft' || event.key === 'ArrowUp'
        ? -1
        : event.key === 'ArrowRight' || event.key === 'ArrowDown'
          ? 1
          : 0
    if (delta === 0) return
    event.preventDefault()
    const target = list[index + delta]
    if (target) void move(id, target.id)
  }

  const open = items.find((p) => p.id === openId) ?? null
  const empty = !loading && !error && items.length === 0

  return (
    <section className="grid-section" aria-label="Photos" aria-busy={loading}>
      {canReorder && items.length > 1 && (
        <p className="hint" id="reorder-help">
          Drag a tile by its ⠿ handle to move it, or focus the handle and use the arrow keys.
        </p>
      )}
      {total !== null && (
        <p className="count-line">
          {total} {total === 1 ? 'item' : 'items'}
        </p>
      )}
      {empty && (
        <p className="empty">
          {view.kind === 'trash'
            ? 'The trash is empty.'
            : 'No photos here yet: drop some on the area above.'}
        </p>
      )}
      <ul className={`grid${dragId ? ' dragging' : ''}`}>
        {items.map((photo, index) => (
          <Tile
            key={photo.id}
            photo={photo}
            inTrash={view.kind === 'trash'}
            canReorder={canReorder}
            isDragged={dragId === photo.id}
            isDropTarget={dropId === photo.id}
            onOpen={() => setOpenId(photo.id)}
            onHide={() => void setHidden(photo, !photo.hidden)}
            onDelete={() => void trash(photo)}
            onRestore={() => void restore(photo)}
            handle={{
              onPointerDown: (e) => onPointerDown(e, photo.id),
              onPointerMove,
              onPointerUp,
              onPointerCancel,
              onKeyDown: (e) => onHandleKey(e, index),
            }}
          />
        ))}
      </ul>
      {error && (
        <p className="error" role="alert">
          {error}{' '}
          <button type="button" onClick={() => void load(null)}>
            Try again
          </button>
        </p>
      )}
      <div ref={sentinel} className="sentinel" />
      {cursor && (
        <button
          type="button"
          className="load-more"
          disabled={loading}
          onClick={() => void load(cursor)}
        >
          {loading ? 'Loading…' : 'Load more'}
        </button>
      )}
      {open && (
        <Detail
          client={client}
          photo={open}
          inTrash={view.kind === 'trash'}
          onClose={() => setOpenId(null)}
          onUpdated={replace}
          onHide={() => void setHidden(open, !open.hidden)}
          onDelete={() => void trash(open)}
          onRestore={() => void restore(open)}
          onStatus={onStatus}
        />
      )}
    </section>
  )
}

interface HandleEvents {
  onPointerDown: (event: PointerEvent<HTMLButtonElement>) => void
  onPointerMove: (event: PointerEvent<HTMLButtonElement>) => void
  onPointerUp: (event: PointerEvent<HTMLButtonElement>) => void
  onPointerCancel: () => void
  onKeyDown: (event: KeyboardEvent<HTMLButtonElement>) => void
}

function Tile({
  photo,
  inTrash,
  canReorder,
  isDragged,
  isDropTarget,
  onOpen,
  onHide,
  onDelete,
  onRestore,
  handle,
}: {
  photo: Photo
  inTrash: boolean
  canReorder: boolean
  isDragged: boolean
  isDropTarget: boolean
  onOpen: () => void
  onHide: () => void
  onDelete: () => void
  onRestore: () => void
  handle: HandleEvents
}) {
  const [loaded, setLoaded] = useState(false)
  const alt = altText(photo)
  const placeholder = placeholderOf(photo)
  const still =
    photo.kind === 'video'
      ? (photo.variants.small ?? photo.variants.medium ?? photo.variants.large ?? null)
      : smallestOf(photo)
  const classes = ['tile']
  if (photo.hidden) classes.push('is-hidden')
  if (isDragged) classes.push('is-dragged')
  if (isDropTarget) classes.push('is-drop-target')

  return (
    <li className={classes.join(' ')} data-photo-id={photo.id}>
      <button type="button" className="tile-open" onClick={onOpen} title={photo.filename}>
        <span
          className="frame"
          style={{
            backgroundImage: placeholder ? `url(${placeholder})` : undefined,
            backgroundColor: photo.hue ?? undefined,
          }}
        >
          {still ? (
            <img
              src={still}
              srcSet={srcSetOf(photo)}
              sizes="(max-width: 600px) 50vw, 240px"
              loading="lazy"
              decoding="async"
              alt={alt}
              width={photo.width ?? undefined}
              height={photo.height ?? undefined}
              className={loaded ? 'loaded' : undefined}
              onLoad={() => setLoaded(true)}
              draggable={false}
            />
          ) : (
            <span className="no-still" role="img" aria-label={alt}>
              ▶
            </span>
          )}
        </span>
        {photo.kind === 'video' && (
          <span className="badge duration">
            ▶ {photo.durationSec !== null ? formatDuration(photo.durationSec) : 'video'}
          </span>
        )}
        {photo.hidden && <span className="badge hidden-badge">Hidden</span>}
      </button>
      <div className="tile-actions">
        {canReorder && (
          <button
            type="button"
            className="handle"
            data-handle-for={photo.id}
            aria-label={`Move ${photo.filename}`}
            aria-describedby="reorder-help"
            {...handle}
          >
            ⠿
          </button>
        )}
        {inTrash ? (
          <button type="button" onClick={onRestore}>
            Restore<span className="visually-hidden"> {photo.filename}</span>
          </button>
        ) : (
          <>
            <button type="button" onClick={onHide}>
              {photo.hidden ? 'Unhide' : 'Hide'}
              <span className="visually-hidden"> {photo.filename}</span>
            </button>
            <button type="button" onClick={onDelete}>
              Delete<span className="visually-hidden"> {photo.filename}</span>
            </button>
          </>
        )}
      </div>
    </li>
  )
}
