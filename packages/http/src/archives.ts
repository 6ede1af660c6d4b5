import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { makeZip, predictLength } from 'client-zip'
import {
  isDarkroomError,
  type ArchiveListing,
  type Caller,
  type Darkroom,
  type WatermarkConfig,
} from '@darkroom/core'
import type { Authenticate } from './auth.js'
import { HttpProblem } from './errors.js'
import type { Logger } from './logger.js'
import {
  bodyResponse,
  isNotModified,
  notModified,
  parseRange,
  unsatisfiable,
  type BodyHeaders,
  type ByteSpan,
} from './internal/body-response.js'
import { assertReadMethod } from './internal/picture-access.js'
import { errorResponse } from './internal/responses.js'
import { zipEntryNames } from './internal/zip-names.js'

/**
 * `GET /albums/{id}.zip?size=original|large|medium|small`: an album as one zip, streamed.
 *
 * - Never built whole: the photos' bytes are opened one at a time from the blob store (fs or
 *   S3) through core's `openBlob` and pulled through client-zip as the client reads, so the
 *   server holds a few chunks per download whatever the album's size (RSS figures in
 *   docs/security.md, "Album downloads").
 * - Entries are stored, not deflated (JPEG, WebP, HEIC and video do not compress), in the
 *   album's own order, named by `zipEntryNames` (one safe segment each, unique); `size` picks
 *   the original or a variant stored at ingest (its extension in the name). Zip64 past 4 GB.
 * - The archive is deterministic (sizes from the metadata, each entry's time its upload time,
 *   names and order from the album), so its length is known before a byte is read
 *   (`Content-Length`), it has a strong `ETag` over what it contains, and `Range` (with
 *   `If-Range`) resumes it: the archive is generated again and the bytes before the range are
 *   dropped. That costs the server a read of the photos before the offset (each entry's CRC is
 *   part of the central directory at the end), not a byte more on the wire.
 * - Access as for the pictures: the owner (a bearer key, the picture cookie) gets every listed
 *   photo; anyone else the album's public photos only, and an album without any is a 404 like
 *   a missing one. Hidden, pending and trashed photos are never in it. Signed URLs do not open
 *   albums. With a watermark configured only the watermark presets are open to others (403).
 * - Downloads: each original counts one in its photo's `downloads` when it goes out in an answer
 *   that carries the whole archive (a 200, or a 206 of every byte), as it is reached: a download
 *   cut off half-way counts the photos it reached. A resumed or partial range counts none.
 * - A photo whose bytes go missing (or change size) after the listing ends the answer
 *   abruptly: the client sees a short download, never a corrupt archive that looks whole.
 */

export interface ArchiveRouteOptions {
  darkroom: Darkroom
  authenticate: Authenticate
  logger: Logger
  /**
   * Archives streamed at once (each reads every photo before its range from storage); one more
   * is a 503 with `Retry-After` before anything is read. Default 4.
   */
  maxConcurrent?: number
}

const PATH = /^\/albums\/([A-Za-z0-9_-]{1,64})\.zip$/

export function createArchiveRoute(options: ArchiveRouteOptions) {
  const { darkroom, logger } = options
  const maxConcurrent = options.maxConcurrent ?? 4
  let streaming = 0

  return async function archiveRoute(request: Request, path: string, url: URL): Promise<Response> {
    try {
      const match = PATH.exec(path)
      if (!match) throw new HttpProblem(404, 'NOT_FOUND', 'No such album URL.')
      assertReadMethod(request)
      const albumId = match[1] as string
      const variant = url.searchParams.get('size') ?? 'original'
      const caller = await options.authenticate({ headers: request.headers })
      const listing = await listFor(darkroom, caller, albumId, variant)

      const names = zipEntryNames(listing.entries)
      const files = listing.entries.map((entry, i) => ({
        name: names[i] as string,
        size: entry.size,
        lastModified: entry.createdAt,
      }))
      const size = Number(predictLength(files))
      const headers: BodyHeaders = {
        etag: archiveTag(listing, names),
        contentType: 'application/zip',
        cacheControl: 'private, no-cache',
        extra: { 'Content-Disposition': attachment(`${listing.title}.zip`) },
      }
      if (isNotModified(request, headers.etag)) return notModified(headers)
      const range = parseRange(request, size, headers.etag)
      if (range.kind === 'unsatisfiable') return unsatisfiable(size, headers)
      const span = range.kind === 'span' ? range.span : null
      if (request.method === 'HEAD') {
        return bodyResponse(request, Buffer.alloc(0), size, span, headers)
      }
      if (streaming >= maxConcurrent) {
        throw new HttpProblem(
          503,
          'SERVICE_UNAVAILABLE',
          `${maxConcurrent} album downloads are under way; retry shortly.`,
          { 'Retry-After': '5' },
        )
      }
      const whole = !span || (span.start === 0 && span.end === size - 1)
      const body = zipStream(listing, files, span, (photoId) =>
        darkroom.photos
          .openBlob(caller, { id: photoId, variant: listing.variant, countDownload: whole })
          .then((opened) => opened.stream),
      )
      // Held until the stream is done with: read to its end, failed or dropped by the client.
      streaming++
      body.once('close', () => streaming--)
      return bodyResponse(request, body, size, span, headers)
    } catch (error) {
      return errorResponse(error, logger)
    }
  }
}

/** The listing, with the watermark rule: unmarked renditions go to the album's owner only. */
async function listFor(
  darkroom: Darkroom,
  caller: Caller | null,
  albumId: string,
  variant: string,
): Promise<ArchiveListing> {
  const watermark = darkroom.config.watermark
  const open = !watermark || Object.hasOwn(watermark.presets, variant)
  if (open) return darkroom.photos.listArchive(caller, { albumId, variant })
  // Decided alike for a missing album, someone else's and a caller without credentials.
  if (!caller) throw ownerOnly(variant, watermark)
  try {
    const listing = await darkroom.photos.listArchive(caller, { albumId, variant })
    if (listing.isOwner) return listing
  } catch (error) {
    if (!isDarkroomError(error) || error.code !== 'NOT_FOUND') throw error
  }
  throw ownerOnly(variant, watermark)
}

function ownerOnly(variant: string, watermark: WatermarkConfig): HttpProblem {
  const open = Object.keys(watermark.presets)
    .map((name) => `"${name}"`)
    .join(', ')
  return new HttpProblem(
    403,
    'FORBIDDEN',
    `The "${variant}" size of an album is served to its owner only while a watermark is ` +
      `configured; anyone who may see the album's public photos may download ${open}.`,
  )
}

/** A strong validator of exactly the bytes the archive will hold. */
function archiveTag(listing: ArchiveListing, names: readonly string[]): string {
  const hash = createHash('sha256').update(listing.variant)
  listing.entries.forEach((entry, i) => {
    hash.update(`\n${entry.photoId}\t${names[i]}\t${entry.size}\t${entry.tag}\t`)
    hash.update(String(entry.createdAt.getTime()))
  })
  return `"zip-${hash.digest('base64url').slice(0, 32)}"`
}

/**
 * The archive's bytes from `span.start` to `span.end` (all of them without a span). Blobs are
 * opened one at a time as client-zip asks for the next entry, and each must deliver exactly
 * the size the listing announced (the length was computed from it).
 */
function zipStream(
  listing: ArchiveListing,
  files: readonly { name: string; size: number; lastModified: Date }[],
  span: ByteSpan | null,
  open: (photoId: string) => Promise<Readable>,
): Readable {
  let current: Readable | null = null
  async function* entries() {
    for (const [i, file] of files.entries()) {
      const entry = listing.entries[i]!
      current = await open(entry.photoId)
      yield { ...file, input: exactly(current, file.size, entry.photoId) }
    }
  }
  async function* bytes() {
    const reader = makeZip(entries(), { buffersAreUTF8: true }).getReader()
    const start = span?.start ?? 0
    const end = span ? span.end + 1 : Number.POSITIVE_INFINITY
    let position = 0
    try {
      while (position < end) {
        const { value, done } = await reader.read()
        if (done) break
        const from = position
        position += value.byteLength
        if (position <= start) continue
        const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
        yield chunk.subarray(Math.max(0, start - from), Math.min(chunk.length, end - from))
      }
    } finally {
      ;(current as Readable | null)?.destroy()
      void reader.cancel().catch(() => undefined)
    }
  }
  return Readable.from(bytes(), { objectMode: false })
}

/** `stream`'s bytes, failing when there are more or fewer than `size`. */
async function* exactly(stream: Readable, size: number, photoId: string) {
  let seen = 0
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    seen += chunk.length
    if (seen > size) break
    yield chunk
  }
  if (seen !== size) {
    throw new Error(`The bytes of photo ${photoId} changed size (${seen} of ${size} expected).`)
  }
}

/** `Content-Disposition: attachment` naming `filename` (ASCII fallback plus RFC 5987 UTF-8). */
function attachment(filename: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = filename.replace(/[\u0000-\u001f\u007f/\\]/g, '_')
  const ascii = clean.replace(/[^\x20-\x7e]/g, '_').replace(/["%]/g, '_')
  const encoded = encodeURIComponent(clean).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`
}
