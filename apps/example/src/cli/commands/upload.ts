import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { basename, join, relative, resolve } from 'node:path'
import * as tus from 'tus-js-client'
import { bytesFlag, CliError, intFlag, parse, UsageError } from '../args.js'
import type { CommandContext } from '../context.js'
import { explain } from '../errors.js'
import { lockFolder } from '../folder-lock.js'
import { formatBytes, formatDuration } from '../format.js'
import { UploadProgress } from '../progress.js'
import { FinishedUploads } from '../upload-state.js'
import { SerialUrlStorage } from '../url-storage.js'
import { findOrCreateAlbum } from './albums.js'

/**
 * `upload <folder>`: every file of a folder through tus (`/files`), resumable across runs.
 *
 * Resume: tus-js-client's `FileUrlStorage` keeps the upload URL of each unfinished file in
 * `<folder>/.darkroom-upload-state.json`, under a fingerprint of the file (path, size, mtime)
 * and of where it goes (server, album, category); a rerun finds it (`findPreviousUploads`),
 * asks the server for its offset (HEAD) and sends only the rest. Finished files are recorded in
 * `<folder>/.darkroom-uploaded.json` (fingerprint → photo id), so a rerun skips them after one
 * `photos.getMany` that checks the photos still exist. The server skips a file whose bytes are
 * already in the album (sha256); the CLI compares checksums first and does not send those.
 *
 * Ctrl-C aborts the uploads in flight without terminating them (the server keeps what it
 * acknowledged), prints what is left, and exits 130.
 *
 * One run per folder: a second `upload` of a folder while one runs stops at once with one
 * line (see folder-lock.ts), before it creates an album or touches the state files.
 */

export const UPLOAD_URLS_FILE = '.darkroom-upload-state.json'
export const FINISHED_FILE = '.darkroom-uploaded.json'
const DEFAULT_CHUNK = 8 * 1024 * 1024
const RETRY_DELAYS = [0, 1_000, 3_000, 5_000]

type TusUrlStorage = NonNullable<tus.UploadOptions['urlStorage']>
// The Node build exports FileUrlStorage; the package's typings leave it out.
const { FileUrlStorage } = tus as unknown as {
  FileUrlStorage: new (path: string) => TusUrlStorage
}

interface LocalFile {
  path: string
  /** Relative to the folder: the name shown and sent as `filename`'s directory part. */
  name: string
  size: number
  mtimeMs: number
}

type Outcome =
  | { status: 'uploaded'; photoId: string; resumedFrom: number }
  | { status: 'earlier'; photoId: string }
  | { status: 'duplicate'; photoId: string }
  | { status: 'refused'; reason: string; message: string }
  | { status: 'failed'; message: string }
  | { status: 'interrupted'; offset: number | null }
  | { status: 'ignored' }

interface Settled {
  file: LocalFile
  outcome: Outcome
}

export interface UploadSignals {
  /** Registers what Ctrl-C does; returns a function that unregisters it. */
  onInterrupt(handler: () => void): () => void
}

export async function uploadCommand(
  ctx: CommandContext,
  argv: string[],
  signals: UploadSignals,
): Promise<number> {
  const { values, positionals } = parse(argv, {
    album: { type: 'string' },
    category: { type: 'string' },
    parallel: { type: 'string' },
    'chunk-size': { type: 'string' },
    recursive: { type: 'boolean', short: 'r' },
  })
  if (positionals.length !== 1) {
    throw new UsageError(
      'Usage: upload <folder> [--album NAME] [--category C] [--parallel N] [--chunk-size 8MiB] [--recursive]',
    )
  }
  const folder = resolve(ctx.cwd, positionals[0]!)
  const parallel = intFlag('parallel', values.parallel, { min: 1, max: 16 }) ?? 2
  const chunkSize = bytesFlag('chunk-size', values['chunk-size']) ?? DEFAULT_CHUNK
  const category = values.category?.trim() || null
  const folderStat = await stat(folder).catch(() => null)
  if (!folderStat?.isDirectory()) throw new CliError(`"${positionals[0]}" is not a folder.`)

  const release = await lockFolder(folder)
  try {
    return await uploadFolder(ctx, signals, {
      folder,
      shownAs: positionals[0]!,
      album: values.album,
      category,
      parallel,
      chunkSize,
      recursive: values.recursive === true,
    })
  } finally {
    await release()
  }
}

interface FolderUpload {
  folder: string
  /** The folder as the user typed it. */
  shownAs: string
  album: string | undefined
  category: string | null
  parallel: number
  chunkSize: number
  recursive: boolean
}

async function uploadFolder(
  ctx: CommandContext,
  signals: UploadSignals,
  options: FolderUpload,
): Promise<number> {
  const { folder, category, parallel, chunkSize } = options
  const { output, client } = ctx
  const album = options.album ? await findOrCreateAlbum(client, options.album) : null
  if (album) {
    output.line(
      `Album "${album.title}" (${album.id})${album.created ? ', created' : `, ${album.photoCount} photos`}`,
    )
  }
  const albumId = album?.id ?? null

  const { files, notFiles } = await walk(folder, options.recursive)
  const settled: Settled[] = notFiles.map((file) => ({ file, outcome: { status: 'ignored' } }))
  const finished = await FinishedUploads.load(join(folder, FINISHED_FILE))
  const urlStorage = new SerialUrlStorage(new FileUrlStorage(join(folder, UPLOAD_URLS_FILE)))
  const keyTag = createHash('sha256').update(ctx.apiKey).digest('hex').slice(0, 12)
  const fingerprintOf = (file: LocalFile) =>
    [
      'darkroom',
      file.path,
      file.size,
      Math.round(file.mtimeMs),
      ctx.baseUrl,
      keyTag,
      albumId ?? '-',
      category ?? '-',
    ].join('|')

  // Files finished by an earlier run, if their photos are still there.
  const earlier = new Map<LocalFile, string>()
  for (const file of files) {
    const record = finished.get(fingerprintOf(file))
    if (record) earlier.set(file, record.photoId)
  }
  const existing = new Set<string>()
  const ids = [...new Set(earlier.values())]
  for (let i = 0; i < ids.length; i += 200) {
    for (const photo of await client.photos.getMany.query({ ids: ids.slice(i, i + 200) })) {
      if (!photo.deletedAt) existing.add(photo.id)
    }
  }
  const queue: LocalFile[] = []
  for (const file of files) {
    const photoId = earlier.get(file)
    if (photoId && existing.has(photoId)) {
      settled.push({ file, outcome: { status: 'earlier', photoId } })
      // A run killed between recording the photo and forgetting the upload URL left it here.
      await forgetUploadUrls(urlStorage, fingerprintOf(file))
    } else {
      if (photoId) await finished.delete(fingerprintOf(file))
      queue.push(file)
    }
  }

  // The album's checksums: a file already there is not sent again.
  const knownChecksums = new Map<string, string>()
  const knownIds = new Set<string>()
  if (queue.length > 0) {
    let cursor: string | undefined
    do {
      const page = await client.photos.list.query({ albumId, limit: 200, cursor })
      for (const photo of page.items) {
        knownChecksums.set(photo.checksum, photo.id)
        knownIds.add(photo.id)
      }
      cursor = page.nextCursor ?? undefined
    } while (cursor)
  }

  const totalBytes = queue.reduce((sum, file) => sum + file.size, 0)
  output.line(
    `${files.length} file${files.length === 1 ? '' : 's'} in ${options.shownAs}: ` +
      `${queue.length} to upload (${formatBytes(totalBytes)}), ` +
      `${files.length - queue.length} uploaded earlier; ` +
      `state in ${UPLOAD_URLS_FILE} and ${FINISHED_FILE} there`,
  )
  const listed = settled.slice(0, 10)
  for (const { file, outcome } of listed) output.line(describe(file, outcome))
  if (settled.length > listed.length) {
    output.line(`... and ${settled.length - listed.length} more uploaded earlier or ignored`)
  }

  const progress = new UploadProgress({ output, totalBytes, totalFiles: queue.length })
  const startedAt = Date.now()
  const active = new Map<LocalFile, { upload: tus.Upload; stop: () => void }>()
  let interrupted = false
  const unregister = signals.onInterrupt(() => {
    if (interrupted) return
    interrupted = true
    progress.log('Interrupted: stopping the uploads in flight (they resume on the next run) ...')
    for (const { upload, stop } of active.values()) {
      void upload.abort(false)
      stop()
    }
  })

  const uploadOne = async (file: LocalFile): Promise<Outcome> => {
    const fingerprint = fingerprintOf(file)
    const checksum = await sha256File(file.path)
    // An upload an earlier run started is resumed (or found finished) through tus; otherwise a
    // file whose bytes are already in the album is not sent.
    const previous = (await urlStorage.findUploadsByFingerprint(fingerprint)).sort(
      (a, b) => Date.parse(b.creationTime) - Date.parse(a.creationTime),
    )
    const knownId = knownChecksums.get(checksum)
    if (knownId && previous.length === 0) return { status: 'duplicate', photoId: knownId }
    if (interrupted) return { status: 'interrupted', offset: null }
    progress.start(file.name, file.size)
    let resumedFrom = 0
    let acknowledged: number | null = null
    const outcome = await new Promise<Outcome>((settle) => {
      const metadata: Record<string, string> = { filename: basename(file.path) }
      if (albumId) metadata.albumId = albumId
      if (category) metadata.category = category
      const upload = new tus.Upload(createReadStream(file.path), {
        endpoint: `${ctx.baseUrl}/files`,
        headers: { authorization: `Bearer ${ctx.apiKey}` },
        chunkSize,
        retryDelays: RETRY_DELAYS,
        metadata,
        uploadSize: file.size,
        fingerprint: async () => fingerprint,
        urlStorage,
        storeFingerprintForResuming: true,
        removeFingerprintOnSuccess: false,
        onProgress: (sent) => progress.update(file.name, sent),
        onChunkComplete: (_chunk, accepted) => {
          acknowledged = accepted
          progress.acknowledged(file.name, accepted)
        },
        onAfterResponse: (req, res) => {
          if (req.getMethod() === 'HEAD' && res.getStatus() === 200) {
            const offset = Number(res.getHeader('Upload-Offset'))
            if (Number.isFinite(offset) && offset > 0) {
              resumedFrom = offset
              acknowledged = offset
              progress.resumed(file.name, offset)
            }
          }
        },
        onSuccess: ({ lastResponse }) => {
          const photoId = lastResponse.getHeader('Darkroom-Photo-Id')
          if (photoId) return settle({ status: 'uploaded', photoId, resumedFrom })
          // Complete, but no photo id yet: the server is still ingesting the bytes an earlier
          // run finished sending. `uploads.status` says when it is ready (or why it failed).
          const uploadId = upload.url?.split('/').pop()
          if (!uploadId) return settle({ status: 'failed', message: 'no upload URL' })
          waitForPhoto(uploadId).then(
            (result) =>
              settle(
                result.photoId
                  ? { status: 'uploaded', photoId: result.photoId, resumedFrom }
                  : { status: 'refused', reason: 'failed', message: result.error ?? 'failed' },
              ),
            (error: unknown) => settle(failureOf(error)),
          )
        },
        onError: (error) => settle(failureOf(error)),
      })
      active.set(file, {
        upload,
        stop: () => settle({ status: 'interrupted', offset: acknowledged }),
      })
      // `previous` is what `upload.findPreviousUploads()` returns (same storage, same
      // fingerprint), newest first.
      if (previous[0]) upload.resumeFromPreviousUpload(previous[0])
      upload.start()
    })
    active.delete(file)
    let duplicate = false
    if (outcome.status === 'uploaded') {
      // A photo that was there before this run is a duplicate, unless it is this file's own
      // upload, finished by the server after the last run stopped.
      duplicate = knownIds.has(outcome.photoId) && outcome.resumedFrom < file.size
      knownIds.add(outcome.photoId)
      knownChecksums.set(checksum, outcome.photoId)
      await finished.set(fingerprint, {
        photoId: outcome.photoId,
        filename: file.name,
        size: file.size,
        finishedAt: new Date().toISOString(),
      })
    }
    if (outcome.status === 'uploaded' || outcome.status === 'refused') {
      // Settled either way (the server removes a refused upload): its URL is of no more use.
      // Removed only now, after the photo id is recorded, so a kill in between still resumes.
      await forgetUploadUrls(urlStorage, fingerprint)
    }
    if (outcome.status === 'uploaded' && duplicate) {
      return { status: 'duplicate', photoId: outcome.photoId }
    }
    return outcome
  }

  const waitForPhoto = async (
    uploadId: string,
  ): Promise<{ photoId: string; error?: never } | { photoId?: never; error: string }> => {
    for (let attempt = 0; attempt < 240 && !interrupted; attempt++) {
      const status = await client.uploads.status.query({ id: uploadId })
      if (status.state === 'ready' && status.photoId) return { photoId: status.photoId }
      if (status.state === 'failed') return { error: status.error ?? 'the upload failed' }
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    throw new Error(`upload ${uploadId} is still being processed`)
  }

  const pending = [...queue]
  const worker = async () => {
    for (let file = pending.shift(); file; file = pending.shift()) {
      if (interrupted) {
        settled.push({ file, outcome: { status: 'interrupted', offset: null } })
        continue
      }
      const outcome = await uploadOne(file).catch((error: unknown): Outcome => ({
        status: 'failed',
        message: explain(error, ctx.baseUrl).message,
      }))
      settled.push({ file, outcome })
      if (outcome.status === 'interrupted') progress.drop(file.name)
      else progress.finish(file.name, file.size, describe(file, outcome))
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, worker))
  } finally {
    progress.stop()
    unregister()
  }

  return summarize(ctx, settled, interrupted, totalBytes, progress.doneBytes(), startedAt)
}

/** The summary after the run; returns the exit code (130 interrupted, 1 if anything failed). */
function summarize(
  ctx: CommandContext,
  settled: Settled[],
  interrupted: boolean,
  totalBytes: number,
  doneBytes: number,
  startedAt: number,
): number {
  const { output } = ctx
  const count = (status: Outcome['status']) =>
    settled.filter((s) => s.outcome.status === status).length
  const seconds = (Date.now() - startedAt) / 1000
  output.line('')
  output.line(
    `Summary: ${count('uploaded')} uploaded, ${count('earlier')} uploaded earlier, ` +
      `${count('duplicate')} duplicate, ${count('refused')} refused, ${count('failed')} failed` +
      (count('ignored') > 0 ? `, ${count('ignored')} ignored (not files)` : '') +
      (interrupted ? `, ${count('interrupted')} left` : '') +
      ` (${formatBytes(doneBytes)} of ${formatBytes(totalBytes)} in ${formatDuration(seconds)})`,
  )
  const problems = settled.filter((s) =>
    ['refused', 'failed', 'duplicate'].includes(s.outcome.status),
  )
  for (const { file, outcome } of problems) output.line(`  ${describe(file, outcome)}`)
  if (interrupted) {
    const left = settled.filter((s) => s.outcome.status === 'interrupted')
    output.line(`Interrupted. Left for the next run (${left.length}):`)
    for (const { file, outcome } of left) {
      const offset = outcome.status === 'interrupted' ? outcome.offset : null
      output.line(
        `  ${file.name}  ${
          offset ? `at ${formatBytes(offset)} of ${formatBytes(file.size)}` : 'not started'
        }`,
      )
    }
    output.line('Run the same command again to resume.')
    return 130
  }
  return count('refused') + count('failed') > 0 ? 1 : 0
}

function describe(file: LocalFile, outcome: Outcome): string {
  switch (outcome.status) {
    case 'uploaded':
      return `uploaded   ${file.name}  -> ${outcome.photoId}  (${formatBytes(file.size)}${
        outcome.resumedFrom >= file.size
          ? ', finished on the server after the last run stopped'
          : outcome.resumedFrom > 0
            ? `, resumed at ${formatBytes(outcome.resumedFrom)}`
            : ''
      })`
    case 'earlier':
      return `skipped    ${file.name}  uploaded earlier as ${outcome.photoId}`
    case 'duplicate':
      return `duplicate  ${file.name}  same bytes as ${outcome.photoId}, already in the album`
    case 'refused':
      return `refused    ${file.name}  ${outcome.reason}: ${outcome.message}`
    case 'failed':
      return `failed     ${file.name}  ${outcome.message}`
    case 'interrupted':
      return `stopped    ${file.name}`
    case 'ignored':
      return `ignored    ${file.name}  not a regular file`
  }
}

/** A tus error as an outcome: a 4xx with Darkroom's JSON is a refusal with its reason. */
function failureOf(error: unknown): Outcome {
  const response = (error as tus.DetailedError).originalResponse
  const status = response?.getStatus() ?? 0
  if (response && status >= 400 && status < 500) {
    let body: {
      error?: { code?: string; message?: string; violations?: { reason?: string }[] }
    } = {}
    try {
      body = JSON.parse(response.getBody()) as typeof body
    } catch {
      // Not JSON: the status says enough.
    }
    const reason =
      body.error?.violations?.find((v) => v.reason)?.reason ??
      body.error?.code?.toLowerCase() ??
      `http_${status}`
    const message = body.error?.message ?? (response.getBody() || `HTTP ${status}`)
    if (status === 401 || status === 403) {
      return { status: 'failed', message: `the server refused the API key (${status}): ${message}` }
    }
    return { status: 'refused', reason, message }
  }
  const message = error instanceof Error ? error.message : String(error)
  return { status: 'failed', message: message.replace(/^tus: /, '') }
}

/** The folder's files, sorted by name; dot files (the state files) are left out. */
async function walk(
  folder: string,
  recursive: boolean,
): Promise<{ files: LocalFile[]; notFiles: LocalFile[] }> {
  const files: LocalFile[] = []
  const notFiles: LocalFile[] = []
  const visit = async (dir: string) => {
    const entries = (await readdir(dir)).sort()
    for (const entry of entries) {
      if (entry.startsWith('.')) continue
      const path = join(dir, entry)
      const name = relative(folder, path).split('\\').join('/')
      const info = await stat(path).catch(() => null)
      if (info?.isFile()) {
        files.push({ path, name, size: info.size, mtimeMs: info.mtimeMs })
      } else if (info?.isDirectory() && recursive) {
        await visit(path)
      } else if (!info?.isDirectory()) {
        notFiles.push({ path, name, size: 0, mtimeMs: 0 })
      }
    }
  }
  await visit(folder)
  return { files, notFiles }
}

async function forgetUploadUrls(storage: TusUrlStorage, fingerprint: string): Promise<void> {
  for (const entry of await storage.findUploadsByFingerprint(fingerprint)) {
    await storage.removeUpload(entry.urlStorageKey).catch(() => undefined)
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
