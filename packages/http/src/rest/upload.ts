import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import {
  DarkroomError,
  localFile,
  requireScope,
  type Darkroom,
  type FileData,
  type UploadFile,
  formatBytes,
} from '@darkroom/core'
import {
  resolveUploadCaller,
  type Authenticate,
  type UploadedFormFile,
  type UploadPolicy,
} from '@darkroom/trpc'
import type { z } from 'zod'
import { parseInput } from '../api/json-body.js'
import type { ReceivedFile, ReceivedForm } from '../api/multipart.js'

/**
 * `POST /photos` of the REST twin: a multipart upload, read the way the seeds send it. The
 * caller is settled first (the router's rule: API key or app sign-in, else the guest owner when
 * guest uploads are on; then the upload rate limit), before a byte of the body is read. Each
 * file is then spooled to a temporary file as it arrives and handed to core where it lies
 * (`localFile`), never held whole in memory.
 *
 * The form's fields are read by `photos.upload`'s own input parser, from a stand-in `FormData`
 * of the received parts, so `albumId`, `pending` & co. mean here what they mean over tRPC. A file
 * over the size limit was cut short while spooling: it reaches core as a body that fails as too
 * large the moment it is read, so core skips it as `too_large` (or refuses the batch, 413/422,
 * when nothing else is left), by its own rule. It is never ingested.
 */

/** The form fields a file may come in: Darkroom's `files`, and the seeds' `file`, `image`, `photos`. */
export const UPLOAD_FILE_FIELDS = ['files', 'file', 'image', 'photos'] as const

export interface UploadOperationDeps {
  darkroom: Darkroom
  authenticate: Authenticate
  policy: UploadPolicy
  /** `photos.upload`'s input and output parsers, from the router. */
  input: z.ZodType
  output: z.ZodType
  /** The multipart body, with the files in these fields, spooled with the limits set. */
  receiveForm(request: Request, fileFields: readonly string[]): Promise<ReceivedForm>
  /** Bytes a file may have before it is cut short (and refused). */
  maxFileBytes: number
  ipOf(request: Request): string | undefined
}

export function createUploadOperation(deps: UploadOperationDeps) {
  return async (request: Request): Promise<{ input: Record<string, unknown>; output: unknown }> => {
    const caller = await resolveUploadCaller(deps.policy, {
      caller: await deps.authenticate({ headers: request.headers }),
      headers: request.headers,
      ip: deps.ipOf(request),
    })
    // A read-only key is refused before its body is spooled (core checks again).
    requireScope(caller, 'photos.write')
    const form = await deps.receiveForm(request, UPLOAD_FILE_FIELDS)
    try {
      const received = new Map<UploadedFormFile, ReceivedFile>()
      for (const file of form.files) received.set(standIn(file), file)
      const parsed = parseInput(deps.input, standInForm(form, [...received.keys()])) as {
        files: UploadedFormFile[]
      } & Record<string, unknown>
      const { files, ...fields } = parsed
      const upload = files.map((file): UploadFile => {
        const spooled = received.get(file)
        if (!spooled) throw new TypeError('photos.upload parsed a file it was not given')
        return { filename: spooled.filename, data: dataOf(spooled, deps.maxFileBytes) }
      })
      const result = await deps.darkroom.photos.upload(caller, { ...fields, files: upload })
      return { input: fields, output: deps.output.parse(result) }
    } finally {
      await form.dispose()
    }
  }
}

function dataOf(file: ReceivedFile, maxBytes: number): FileData {
  if (!file.truncated) return localFile(file.path, file.size)
  const error = new DarkroomError(
    'PAYLOAD_TOO_LARGE',
    `The file is too large (${formatBytes(file.size)}). Allowed maximum size is ${formatBytes(maxBytes)}.`,
  )
  return (async function* refused(): AsyncGenerator<Uint8Array> {
    throw error
  })()
}

/** A received file as the parser sees a `File`: its name, its full size, its bytes on demand. */
function standIn(file: ReceivedFile): UploadedFormFile {
  return {
    name: file.filename,
    size: file.size,
    type: file.mimeType,
    stream: () =>
      Readable.toWeb(createReadStream(file.path)) as unknown as ReadableStream<Uint8Array>,
  }
}

/**
 * The received form as the `FormData` `photos.upload` parses: its text fields as they came,
 * then every file under `files`, whatever field it came in.
 */
function standInForm(form: ReceivedForm, files: readonly UploadedFormFile[]) {
  const entries: [string, unknown][] = [
    ...form.fields,
    ...files.map((file): [string, unknown] => ['files', file]),
  ]
  return {
    get: (name: string) => entries.find(([n]) => n === name)?.[1] ?? null,
    getAll: (name: string) => entries.filter(([n]) => n === name).map(([, v]) => v),
    has: (name: string) => entries.some(([n]) => n === name),
    entries: () => entries[Symbol.iterator](),
    keys: () => entries.map(([n]) => n)[Symbol.iterator](),
    values: () => entries.map(([, v]) => v)[Symbol.iterator](),
    forEach: (fn: (value: unknown, name: string) => void) => {
      for (const [n, v] of entries) fn(v, n)
    },
    [Symbol.iterator]: () => entries[Symbol.iterator](),
  }
}
