import {
  isDarkroomError,
  type CapInfo,
  type DarkroomConfig,
  type DarkroomError,
  type DarkroomErrorCode,
  type SkipReason,
  formatBytes,
} from '@darkroom/core'
import { HttpProblem } from '../../errors.js'
import { json } from '../../internal/responses.js'
import type { ProfileDeps, ProfileRoute } from '../profile.js'

/**
 * The albums API has one error shape, `{ "error": "<mensaje>" }`, with Spanish messages written
 * without accents as its document writes them. Everything a route throws is answered here:
 * the profile's own refusals (`AlbumsApiError`), core's `DarkroomError` by code, the HTTP
 * layer's `HttpProblem` by status, and anything else as a 500 that says only which operation
 * failed ("Error al subir"), its cause logged and never shown.
 */

/** A refusal already in the API's terms: its status and its message. */
export class AlbumsApiError extends Error {
  override readonly name = 'AlbumsApiError'
  constructor(
    readonly status: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** The document's messages, and those this profile adds in the same style. */
export const MESSAGES = {
  unauthorized: 'No autorizado',
  forbidden: 'Permiso insuficiente',
  noFile: 'No se proporciono archivo',
  noId: 'No se proporciono ID',
  invalidId: 'ID no valido',
  photoNotFound: 'Foto no encontrada',
  albumNotFound: 'Album no encontrado',
  duplicateUpload: 'La foto ya existe',
  duplicateInAlbum: 'La foto ya existe en ese album',
  oneFile: 'Solo se admite un archivo',
  invalidJson: 'JSON no valido',
  invalidRequest: 'Solicitud no valida',
  methodNotAllowed: 'Metodo no permitido',
  tooManyRequests: 'Demasiadas solicitudes',
  bodyTooLarge: 'Solicitud demasiado grande',
  corrupt: 'Archivo danado o vacio',
  unsupportedCompression: 'Compresion de imagen no admitida',
  internal: 'Error interno',
  listFailed: 'Error al obtener fotos',
  uploadFailed: 'Error al subir',
  deleteFailed: 'Error al eliminar',
  moveFailed: 'Error al mover foto',
  dimensionsFailed: 'Error al actualizar dimensiones',
} as const

/** `Campo no permitido: foo` / `Campos no permitidos: foo, bar` */
export function unknownFields(names: readonly string[]): string {
  return names.length === 1
    ? `Campo no permitido: ${names[0]}`
    : `Campos no permitidos: ${names.join(', ')}`
}

/** `Parametro no permitido: foo` / `Parametros no permitidos: foo, bar` */
export function unknownParameters(names: readonly string[]): string {
  return names.length === 1
    ? `Parametro no permitido: ${names[0]}`
    : `Parametros no permitidos: ${names.join(', ')}`
}

/** `width no valido (entero de 1 a 1000000)` */
export function invalidValue(name: string, rule: string): string {
  return `${name} no valido (${rule})`
}

/** `No se proporciono width` */
export function missingValue(name: string): string {
  return `No se proporciono ${name}`
}

/** A file over `limits.maxFileBytes`: 413, naming the maximum. */
export function tooLarge(config: DarkroomConfig): AlbumsApiError {
  return new AlbumsApiError(
    413,
    `Archivo demasiado grande (maximo ${formatBytes(config.limits.maxFileBytes)})`,
  )
}

/**
 * Why core did not store an uploaded file, as the API's status and message: the file's own
 * faults are 422 (413 for its size), a full album or storage 400, a duplicate 409. Null for a
 * reason that is not a refusal of the file (`error`: a storage failure, answered as a 500).
 */
export function fileRefusal(reason: string, config: DarkroomConfig): AlbumsApiError | null {
  const refusals: Record<SkipReason, () => AlbumsApiError | null> = {
    invalid_type: () =>
      new AlbumsApiError(
        422,
        `Tipo de archivo no permitido (se admiten ${config.allowedMimeTypes.join(', ')})`,
      ),
    too_large: () => tooLarge(config),
    too_many_pixels: () =>
      new AlbumsApiError(
        422,
        `Imagen demasiado grande (maximo ${Math.round(config.limits.maxInputPixels / 100_000) / 10} megapixeles)`,
      ),
    corrupt: () => new AlbumsApiError(422, MESSAGES.corrupt),
    unsupported_compression: () => new AlbumsApiError(422, MESSAGES.unsupportedCompression),
    duplicate: () => new AlbumsApiError(409, MESSAGES.duplicateUpload),
    cap_exceeded: () => new AlbumsApiError(400, capMessage('photoCap')),
    quota_exceeded: () => new AlbumsApiError(400, capMessage('quotaBytes')),
    error: () => null,
  }
  return refusals[reason as SkipReason]?.() ?? null
}

/**
 * Wraps a route so that an unexpected error becomes the operation's own 500 (`failure`, e.g.
 * "Error al subir"), keeping the error as its cause for the log. Errors that already have an
 * answer (the profile's, core's, the HTTP layer's) pass through.
 */
export function failingAs(failure: string, handle: ProfileRoute['handle']): ProfileRoute['handle'] {
  return (request) =>
    handle(request).catch((error: unknown) => {
      const answered =
        error instanceof AlbumsApiError || error instanceof HttpProblem || isDarkroomError(error)
      throw answered ? error : new AlbumsApiError(500, failure, { cause: error })
    })
}

/** The profile's `errorResponse`: every error in the API's shape, server faults logged once. */
export function albumsErrorResponse(error: unknown, deps: ProfileDeps): Response {
  const answer = toAlbumsApiError(error, deps.darkroom.config)
  if (answer.status >= 500) {
    deps.logger.error({ err: answer.cause ?? error }, `albums profile: ${answer.message}`)
  }
  const headers: Record<string, string> = {}
  if (isDarkroomError(error) && error.retryAfterMs !== undefined) {
    headers['Retry-After'] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)))
  }
  return json(answer.status, { error: answer.message }, headers)
}

function toAlbumsApiError(error: unknown, config: DarkroomConfig): AlbumsApiError {
  if (error instanceof AlbumsApiError) return error
  if (isDarkroomError(error)) return BY_CODE[error.code](error, config)
  if (error instanceof HttpProblem) {
    if (error.status === 405) return new AlbumsApiError(405, MESSAGES.methodNotAllowed)
    if (error.status < 500) return new AlbumsApiError(error.status, MESSAGES.invalidRequest)
  }
  return new AlbumsApiError(500, MESSAGES.internal, { cause: error })
}

const BY_CODE: Record<
  DarkroomErrorCode,
  (error: DarkroomError, config: DarkroomConfig) => AlbumsApiError
> = {
  // Core names what is missing first: `Album "…" was not found.`, `Photo "…" was not found.`
  NOT_FOUND: (error) =>
    new AlbumsApiError(
      404,
      error.message.startsWith('Album ') ? MESSAGES.albumNotFound : MESSAGES.photoNotFound,
    ),
  UNAUTHORIZED: () => new AlbumsApiError(401, MESSAGES.unauthorized),
  FORBIDDEN: () => new AlbumsApiError(403, MESSAGES.forbidden),
  VALIDATION: (error, config) => {
    const [first] = error.violations
    const refusal = first?.reason ? fileRefusal(first.reason, config) : null
    const properties = [...new Set(error.violations.map((v) => v.property))]
    return refusal ?? new AlbumsApiError(400, `Datos no validos: ${properties.join(', ')}`)
  },
  CAP_EXCEEDED: (error) =>
    new AlbumsApiError(400, capMessage(error.cap?.name ?? 'photoCap', error.cap?.limit)),
  CONFLICT: () => new AlbumsApiError(409, MESSAGES.duplicateInAlbum),
  // A lone file over the limit carries its violation; a body over the request cap does not.
  PAYLOAD_TOO_LARGE: (error, config) =>
    error.violations.length > 0 ? tooLarge(config) : new AlbumsApiError(413, MESSAGES.bodyTooLarge),
  RATE_LIMITED: () => new AlbumsApiError(429, MESSAGES.tooManyRequests),
}

/** A full album, a full storage quota, or more files than one: naming the limit when known. */
function capMessage(name: CapInfo['name'], limit?: number): string {
  switch (name) {
    case 'photoCap':
      return `El album esta lleno${limit === undefined ? '' : ` (maximo ${limit} fotos)`}`
    case 'quotaBytes':
      return `Espacio de almacenamiento agotado${limit === undefined ? '' : ` (maximo ${formatBytes(limit)})`}`
    case 'maxFilesPerBatch':
      return MESSAGES.oneFile
    case 'webhooksPerOwner':
      return `Demasiados webhooks${limit === undefined ? '' : ` (maximo ${limit})`}`
    case 'unfinishedUploads':
      return 'Demasiadas subidas sin terminar'
  }
}
