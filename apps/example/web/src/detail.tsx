import { useEffect, useRef, useState } from 'react'
import type { DarkroomClient } from '../../src/client.js'
import { describeError } from './errors.js'
import {
  altText,
  formatBytes,
  formatDuration,
  formatExposure,
  formatTakenAt,
  placeholderOf,
  srcSetOf,
} from './format.js'
import type { Photo } from './types.js'

/** One photo in a modal dialog: the picture (or video), its facts, likes and rating. */
export function Detail({
  client,
  photo,
  inTrash,
  onClose,
  onUpdated,
  onHide,
  onDelete,
  onRestore,
  onStatus,
}: {
  client: DarkroomClient
  photo: Photo
  inTrash: boolean
  onClose: () => void
  onUpdated: (photo: Photo) => void
  onHide: () => void
  onDelete: () => void
  onRestore: () => void
  onStatus: (message: string) => void
}) {
  const dialog = useRef<HTMLDialogElement>(null)
  const [liked, setLiked] = useState(false)
  const [description, setDescription] = useState(photo.description)

  useEffect(() => {
    const node = dialog.current
    if (node && !node.open) node.showModal()
  }, [])

  async function react(input: { like?: boolean; rating?: number }) {
    try {
      onUpdated(await client.photos.react.mutate({ id: photo.id, ...input }))
      if (input.like !== undefined) setLiked(input.like)
      if (input.rating !== undefined) onStatus(`Rated ${photo.filename} ${input.rating} of 5.`)
    } catch (err) {
      onStatus(describeError(err))
    }
  }

  async function saveDescription() {
    if (description === photo.description) return
    try {
      const updated = await client.photos.update.mutate({ id: photo.id, description })
      // A key without photos.read is answered a receipt (no photo data): keep what is shown.
      onUpdated('withheld' in updated ? { ...photo, description } : updated)
      onStatus('Description saved.')
    } catch (err) {
      onStatus(describeError(err))
    }
  }

  const exif = photo.exif
  const facts: [string, string][] = []
  facts.push(['File', `${photo.filename} (${formatBytes(photo.size)}, ${photo.mimeType})`])
  if (photo.width && photo.height) facts.push(['Size', `${photo.width} × ${photo.height} px`])
  if (photo.kind === 'video' && photo.durationSec !== null) {
    facts.push(['Duration', formatDuration(photo.durationSec)])
  }
  facts.push(['Taken', photo.takenAt ? formatTakenAt(photo.takenAt) : 'unknown'])
  const camera = [exif?.make, exif?.model].filter(Boolean).join(' ')
  if (camera) facts.push(['Camera', camera])
  if (exif?.lens) facts.push(['Lens', exif.lens])
  const settings = [
    exif?.fNumber ? `f/${exif.fNumber}` : null,
    exif?.exposure ? formatExposure(exif.exposure) : null,
    exif?.iso ? `ISO ${exif.iso}` : null,
    exif?.focalLength ? `${exif.focalLength} mm` : null,
  ].filter(Boolean)
  if (settings.length > 0) facts.push(['Exposure', settings.join(' · ')])
  facts.push(['Uploaded', new Date(photo.createdAt).toLocaleString()])
  const gps = exif?.gps
  const placeholder = placeholderOf(photo)

  return (
    <dialog
      ref={dialog}
      className="detail"
      aria-labelledby="detail-title"
      onClose={onClose}
      onClick={(e) => {
        if (e.target === dialog.current) dialog.current?.close()
      }}
    >
      <div className="detail-body">
        <div
          className="detail-media"
          style={{ backgroundImage: placeholder ? `url(${placeholder})` : undefined }}
        >
          {photo.kind === 'video' ? (
            <video
              controls
              preload="metadata"
              src={photo.variants.original}
              poster={photo.variants.large ?? photo.variants.medium ?? undefined}
              aria-label={altText(photo)}
            />
          ) : (
            <img
              src={photo.variants.large ?? photo.variants.medium ?? photo.variants.original}
              srcSet={srcSetOf(photo)}
              sizes="(max-width: 900px) 100vw, 65vw"
              alt={altText(photo)}
              // Never larger than the photo itself (srcset would stretch a small one).
              style={photo.width ? { maxWidth: `min(100%, ${photo.width}px)` } : undefined}
            />
          )}
        </div>
        <div className="detail-info">
          <h2 id="detail-title">{photo.filename}</h2>
          {photo.hidden && <p className="badge-inline">Hidden</p>}
          <dl className="facts">
            {facts.map(([term, value]) => (
              <div key={term}>
                <dt>{term}</dt>
                <dd>{value}</dd>
              </div>
            ))}
            {gps && (
              <div>
                <dt>Place</dt>
                <dd>
                  <a
                    href={`https://www.openstreetmap.org/?mlat=${gps.lat}&mlon=${gps.lon}#map=15/${gps.lat}/${gps.lon}`}
                    target="_blank"
                    rel="noopener noreferrer"
                  >
                    {gps.lat.toFixed(5)}, {gps.lon.toFixed(5)} on a map
                  </a>
                </dd>
              </div>
            )}
          </dl>
          <label htmlFor="detail-description">Description (the alt text)</label>
          <textarea
            id="detail-description"
            rows={2}
            value={description}
            maxLength={10_000}
            onChange={(e) => setDescription(e.target.value)}
            onBlur={() => void saveDescription()}
          />
          <div className="feedback">
            <button type="button" aria-pressed={liked} onClick={() => void react({ like: !liked })}>
              {liked ? '♥ Liked' : '♡ Like'} · {photo.likes}
            </button>
            <fieldset className="rating">
              <legend>
                Rating{' '}
                {photo.ratingAvg !== null
                  ? `${photo.ratingAvg.toFixed(1)} (${photo.ratingCount})`
                  : '(none yet)'}
              </legend>
              {[1, 2, 3, 4, 5].map((n) => (
                <button
                  key={n}
                  type="button"
                  aria-label={`Rate ${n} of 5`}
                  onClick={() => void react({ rating: n })}
                >
                  {photo.ratingAvg !== null && n <= Math.round(photo.ratingAvg) ? '★' : '☆'}
                </button>
              ))}
            </fieldset>
          </div>
          <div className="detail-actions">
            {inTrash ? (
              <button type="button" onClick={onRestore}>
                Restore
              </button>
            ) : (
              <>
                <button type="button" onClick={onHide}>
                  {photo.hidden ? 'Unhide' : 'Hide'}
                </button>
                <button type="button" onClick={onDelete}>
                  Delete
                </button>
              </>
            )}
            <a href={photo.variants.original} download={photo.filename}>
              Download original
            </a>
            <button type="button" className="close" onClick={() => dialog.current?.close()}>
              Close
            </button>
          </div>
        </div>
      </div>
    </dialog>
  )
}
