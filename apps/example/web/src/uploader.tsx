import { useEffect, useRef, useState, type DragEvent } from 'react'
import { DetailedError, Upload } from 'tus-js-client'
import { describeError } from './errors.js'
import { formatBytes } from './format.js'
import type { Session } from './session.js'

/**
 * The drop zone: every file goes through tus (`/files`) with tus-js-client, three at a time,
 * in 5 MB chunks so that a pause loses at most one chunk. The server checks the type from the
 * first bytes and the size and album cap when the upload is created; its refusal (a JSON body
 * with the violation) is shown on the file's row. The last PATCH answers `Darkroom-Photo-Id`.
 */

const CHUNK_BYTES = 5 * 1024 * 1024
const PARALLEL = 3

type State = 'queued' | 'uploading' | 'paused' | 'done' | 'failed'

interface Item {
  id: number
  name: string
  size: number
  sent: number
  state: State
  message: string | null
  /** A failure without an answer from the server (network): worth retrying. */
  retryable: boolean
  upload: Upload
}

let nextId = 1

export function Uploader({
  session,
  albumId,
  albumTitle,
  onUploaded,
}: {
  session: Session
  albumId: string | null
  albumTitle: string | null
  onUploaded: (photoId: string) => void
}) {
  const [items, setItems] = useState<Item[]>([])
  const [over, setOver] = useState(false)
  const inputRef = useRef<HTMLInputElement>(null)
  const itemsRef = useRef(items)
  itemsRef.current = items

  const patch = (id: number, fields: Partial<Item>) =>
    setItems((list) => list.map((item) => (item.id === id ? { ...item, ...fields } : item)))

  // Starts queued uploads while fewer than PARALLEL run.
  useEffect(() => {
    const running = items.filter((i) => i.state === 'uploading').length
    const queued = items.filter((i) => i.state === 'queued').slice(0, PARALLEL - running)
    for (const item of queued) {
      patch(item.id, { state: 'uploading' })
      item.upload.start()
    }
  }, [items])

  // Leaving the page stops uploads in flight (they can be resumed: tus keeps their URLs).
  useEffect(() => () => itemsRef.current.forEach((i) => void i.upload.abort()), [])

  function add(files: FileList | File[]) {
    const added: Item[] = []
    for (const file of Array.from(files)) {
      const id = nextId++
      const metadata: Record<string, string> = { filename: file.name }
      if (albumId) metadata.albumId = albumId
      const upload = new Upload(file, {
        endpoint: `${location.origin}/files`,
        headers: { authorization: `Bearer ${session.key}` },
        metadata,
        chunkSize: CHUNK_BYTES,
        retryDelays: [0, 1000, 3000, 5000],
        removeFingerprintOnSuccess: true,
        onProgress: (sent) => patch(id, { sent }),
        onSuccess: ({ lastResponse }) => {
          patch(id, { state: 'done', sent: file.size, message: null })
          const photoId = lastResponse.getHeader('Darkroom-Photo-Id')
          if (photoId) onUploaded(photoId)
        },
        onError: (error) =>
          patch(id, {
            state: 'failed',
            message: describeError(error),
            retryable: !(error instanceof DetailedError && error.originalResponse),
          }),
      })
      added.push({
        id,
        name: file.name,
        size: file.size,
        sent: 0,
        state: 'queued',
        message: null,
        retryable: false,
        upload,
      })
    }
    if (added.length > 0) setItems((list) => [...added, ...list.filter((i) => i.state !== 'done')])
  }

  function pause(item: Item) {
    void item.upload.abort()
    patch(item.id, { state: 'paused' })
  }

  function resume(item: Item) {
    patch(item.id, { state: 'queued', message: null })
  }

  function onDrop(event: DragEvent) {
    event.preventDefault()
    setOver(false)
    if (event.dataTransfer.files.length > 0) add(event.dataTransfer.files)
  }

  const target = albumTitle ? `into “${albumTitle}”` : 'outside any album'
  return (
    <section className="uploader" aria-label="Upload">
      <label
        className={`drop-zone${over ? ' over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault()
          e.dataTransfer.dropEffect = 'copy'
          setOver(true)
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <input
          ref={inputRef}
          className="visually-hidden"
          type="file"
          multiple
          accept="image/*,video/*,.heic,.heif"
          data-testid="file-input"
          onChange={(e) => {
            if (e.target.files) add(e.target.files)
            e.target.value = ''
          }}
        />
        <span className="drop-title">Drop photos here, or choose files</span>
        <span className="drop-hint">They go {target}. Large files resume after a pause.</span>
      </label>
      {items.length > 0 && (
        <ul className="upload-list" aria-label="Uploads">
          {items.map((item) => (
            <li key={item.id} className={`upload upload-${item.state}`} data-state={item.state}>
              <span className="upload-name">{item.name}</span>
              <span className="upload-size">{formatBytes(item.size)}</span>
              <progress
                max={item.size || 1}
                value={item.state === 'done' ? item.size || 1 : item.sent}
                aria-label={`Upload of ${item.name}`}
              />
              <span className="upload-state">{stateText(item)}</span>
              {item.state === 'uploading' && (
                <button type="button" onClick={() => pause(item)}>
                  Pause<span className="visually-hidden"> {item.name}</span>
                </button>
              )}
              {item.state === 'paused' && (
                <button type="button" onClick={() => resume(item)}>
                  Resume<span className="visually-hidden"> {item.name}</span>
                </button>
              )}
              {item.state === 'failed' && item.retryable && (
                <button type="button" onClick={() => resume(item)}>
                  Retry<span className="visually-hidden"> {item.name}</span>
                </button>
              )}
              {(item.state === 'failed' || item.state === 'done') && (
                <button
                  type="button"
                  onClick={() => setItems((list) => list.filter((i) => i.id !== item.id))}
                >
                  Dismiss<span className="visually-hidden"> {item.name}</span>
                </button>
              )}
              {item.message && (
                <p className="upload-error" role="alert">
                  {item.name}: {item.message}
                </p>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}

function stateText(item: Item): string {
  switch (item.state) {
    case 'queued':
      return 'Waiting'
    case 'uploading':
      return item.size > 0 ? `${Math.floor((item.sent / item.size) * 100)}%` : 'Uploading'
    case 'paused':
      return 'Paused'
    case 'done':
      return 'Uploaded'
    case 'failed':
      return 'Refused'
  }
}
