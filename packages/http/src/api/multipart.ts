import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, readdir, rm, stat } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'
import { DarkroomError, formatBytes } from '@darkroom/core'
import busboy from 'busboy'
import { HttpProblem } from '../errors.js'
import type { BodyBudget } from './body-budget.js'

/**
 * A `multipart/form-data` body received file by file: each file part is written to its own
 * temporary file as it arrives (never held in memory), so core ingests it from disk
 * (`localFile`). Limits hold while reading: the declared `Content-Length` is checked before a
 * byte is read, the body is cut off past `maxBodyBytes`, a file over `maxFileBytes` stops being
 * written (its size is still counted, so a refusal can say how large it was), and parts past
 * `maxFiles` or `maxFields` end the request.
 */

export interface ReceivedFile {
  /** The form field it came in (`files`, `image` ...). */
  field: string
  filename: string
  /** What the client said; never trusted for the type (core sniffs the bytes). */
  mimeType: string
  /** The temporary file (removed by `dispose`); holds the first `maxFileBytes` when truncated. */
  path: string
  /** Bytes the client sent for this part. */
  size: number
  /** Over `maxFileBytes`: only the first bytes were kept. */
  truncated: boolean
}

export interface ReceivedForm {
  files: ReceivedFile[]
  /** Text fields in the order they came; a name may repeat. */
  fields: [name: string, value: string][]
  /** The first value of a text field, or undefined. */
  field(name: string): string | undefined
  /** Removes the temporary files; safe to call twice. */
  dispose(): Promise<void>
}

export interface ReceiveFormOptions {
  /** Folder of the temporary files (created when missing). */
  directory: string
  maxFileBytes: number
  maxFiles: number
  maxBodyBytes: number
  /** Text fields at most; default 100. */
  maxFields?: number
  /** Bytes of one text field at most; default 64 KiB. */
  maxFieldBytes?: number
  /** Field names whose parts are files; a file in any other field is refused. */
  fileFields: readonly string[]
  /** The handler's budget of bodies in flight: the bytes received are counted against it. */
  budget?: BodyBudget
}

export async function receiveForm(
  request: Request,
  options: ReceiveFormOptions,
): Promise<ReceivedForm> {
  const contentType = request.headers.get('content-type') ?? ''
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw new HttpProblem(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'Send the upload as multipart/form-data (the file in a form field).',
    )
  }
  const declared = Number(request.headers.get('content-length') ?? NaN)
  if (Number.isFinite(declared) && declared > options.maxBodyBytes) {
    void request.body?.cancel().catch(() => undefined)
    throw bodyTooLarge(options.maxBodyBytes)
  }
  const source = bodyStream(request)
  if (!source) throw new HttpProblem(400, 'BAD_REQUEST', 'The request has no body.')

  await mkdir(options.directory, { recursive: true, mode: 0o700 })
  const files: ReceivedFile[] = []
  const fields: [string, string][] = []
  const written: string[] = []
  const dispose = async () => {
    const paths = written.splice(0)
    await Promise.all(paths.map((p) => rm(p, { force: true })))
  }
  const form: ReceivedForm = {
    files,
    fields,
    field: (name) => fields.find(([n]) => n === name)?.[1],
    dispose,
  }

  let parser: busboy.Busboy
  try {
    parser = busboy({
      headers: { 'content-type': contentType },
      limits: {
        files: options.maxFiles,
        fields: options.maxFields ?? 100,
        fieldSize: options.maxFieldBytes ?? 64 * 1024,
        parts: options.maxFiles + (options.maxFields ?? 100),
      },
      defParamCharset: 'utf8',
    })
  } catch {
    source.destroy()
    throw new HttpProblem(400, 'BAD_REQUEST', 'The multipart body has no boundary.')
  }

  const pending: Promise<void>[] = []
  const parts: Readable[] = []
  let received = 0
  const parsed = new Promise<void>((resolve, reject) => {
    let failed = false
    const fail = (error: Error) => {
      if (failed) return
      failed = true
      source.unpipe()
      source.resume()
      // A file cut off mid-part would never end: its write stops here.
      for (const part of parts) part.destroy()
      reject(error)
    }
    source.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (received > options.maxBodyBytes) return fail(bodyTooLarge(options.maxBodyBytes))
      try {
        options.budget?.count(request, received)
      } catch (error) {
        fail(error as Error)
      }
    })
    source.on('error', () =>
      fail(new HttpProblem(400, 'BAD_REQUEST', 'The upload ended before its body was complete.')),
    )
    source.on('aborted', () =>
      fail(new HttpProblem(400, 'BAD_REQUEST', 'The upload ended before its body was complete.')),
    )
    parser.on('file', (field, stream, info) => {
      if (failed) return void stream.resume()
      if (!options.fileFields.includes(field)) {
        stream.resume()
        fail(
          DarkroomError.validation([
            {
              property: field,
              message: `Unknown file field "${field}". Send files as ${options.fileFields
                .map((f) => `"${f}"`)
                .join(', ')}.`,
            },
          ]),
        )
        return
      }
      parts.push(stream)
      const path = join(options.directory, `form-${randomBytes(12).toString('hex')}`)
      written.push(path)
      const file: ReceivedFile = {
        field,
        filename: info.filename ?? '',
        mimeType: info.mimeType,
        path,
        size: 0,
        truncated: false,
      }
      files.push(file)
      const writing = writeLimited(stream, path, options.maxFileBytes, file)
      writing.catch((error: Error) => fail(error))
      pending.push(writing)
    })
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) {
        fail(
          DarkroomError.validation([
            { property: name, message: `The field "${name}" is too long.` },
          ]),
        )
        return
      }
      fields.push([name, value])
    })
    parser.on('filesLimit', () =>
      fail(
        DarkroomError.validation([
          {
            property: options.fileFields[0] ?? 'files',
            message: `At most ${options.maxFiles} files in one request.`,
          },
        ]),
      ),
    )
    parser.on('fieldsLimit', () =>
      fail(new HttpProblem(400, 'BAD_REQUEST', 'Too many form fields in one request.')),
    )
    parser.on('partsLimit', () =>
      fail(new HttpProblem(400, 'BAD_REQUEST', 'Too many parts in one request.')),
    )
    parser.on('error', (error: Error) =>
      fail(
        new HttpProblem(400, 'BAD_REQUEST', `The multipart body is malformed: ${error.message}`),
      ),
    )
    parser.on('close', () => {
      if (!failed) Promise.all(pending).then(() => resolve(), fail)
    })
    source.pipe(parser)
  })

  try {
    await parsed
  } catch (error) {
    await Promise.allSettled(pending)
    await dispose()
    throw error
  }
  return form
}

/** Writes a part to `path`, keeping at most `max` bytes but counting all of them. */
async function writeLimited(
  stream: Readable,
  path: string,
  max: number,
  file: ReceivedFile,
): Promise<void> {
  const out = createWriteStream(path, { flags: 'wx', mode: 0o600 })
  await pipeline(
    stream,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        const room = max - file.size
        file.size += chunk.length
        if (room <= 0) {
          file.truncated = true
          continue
        }
        if (chunk.length > room) {
          file.truncated = true
          yield chunk.subarray(0, room)
        } else yield chunk
      }
    },
    out,
  )
}

/** The Node stream under a srvx request (read as it is), or the web body as one; null: none. */
function bodyStream(request: Request): Readable | null {
  const req = (request as { runtime?: { node?: { req?: IncomingMessage } } }).runtime?.node?.req
  if (req && !req.readableDidRead) return req
  if (!request.body) return null
  return Readable.fromWeb(request.body as unknown as NodeReadableStream<Uint8Array>)
}

function bodyTooLarge(max: number): DarkroomError {
  return new DarkroomError(
    'PAYLOAD_TOO_LARGE',
    `The request body is over ${formatBytes(max)}; send large files with tus (resumable uploads).`,
  )
}

/**
 * Removes the temporary files of forms a stop cut off (older than `olderThanMs`; a form being
 * received now is younger). Returns how many.
 */
export async function removeStaleForms(directory: string, olderThanMs: number): Promise<number> {
  const names = await readdir(directory).catch(() => [] as string[])
  let removed = 0
  for (const name of names) {
    if (!name.startsWith('form-')) continue
    const path = join(directory, name)
    const info = await stat(path).catch(() => null)
    if (info && Date.now() - info.mtimeMs > olderThanMs) {
      await rm(path, { force: true })
      removed++
    }
  }
  return removed
}
