/**
 * Cross-origin access, one policy for every route (tRPC, tus, pictures): off unless origins are
 * listed, so by default only pages of the app's own origin can call Darkroom from a browser
 * (the gallery, an app served beside the handler). The libraries underneath have their own
 * ideas (tus answers `Access-Control-Allow-Origin: *` to anyone); their CORS headers are
 * removed and this policy's put in their place, so what a browser is allowed is decided here
 * alone.
 */

export interface CorsOptions {
  /**
   * Origins whose pages may call the handler: exact origins (`https://app.example.com`), or
   * `'*'` for any origin (then never with credentials).
   */
  origins: readonly string[] | '*'
  /** Let those pages send cookies (the picture cookie); default false. */
  credentials?: boolean
  /** How long a browser may keep a preflight answer; default 600 s. */
  maxAgeSec?: number
}

const METHODS = 'GET, HEAD, POST, PATCH, DELETE, OPTIONS'
const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept',
  'Range',
  'If-None-Match',
  'Tus-Resumable',
  'Upload-Length',
  'Upload-Offset',
  'Upload-Metadata',
  'Upload-Checksum',
  'Upload-Concat',
  'Upload-Defer-Length',
  'X-HTTP-Method-Override',
  'X-Requested-With',
  'trpc-accept',
  'x-trpc-batch-mode',
  'x-trpc-source',
].join(', ')
const EXPOSED_HEADERS = [
  'Location',
  'ETag',
  'Content-Range',
  'Retry-After',
  'Tus-Resumable',
  'Tus-Version',
  'Tus-Extension',
  'Tus-Max-Size',
  'Tus-Checksum-Algorithm',
  'Upload-Offset',
  'Upload-Length',
  'Upload-Expires',
  'Upload-Metadata',
  'Upload-Concat',
  'Darkroom-Photo-Id',
  'Darkroom-Upload-State',
].join(', ')

export interface Cors {
  /** The answer to a CORS preflight, or null when the request is not one. */
  preflight(request: Request): Response | null
  /**
   * The response with this policy's headers (and no others'). `foreign`: it comes from a
   * library that sets CORS headers of its own (tus), which are removed; Darkroom's own routes
   * set none, so without a policy their responses pass untouched.
   */
  apply(request: Request, response: Response, foreign: boolean): Response
}

export function createCors(options: CorsOptions | false | undefined): Cors {
  const policy = options ? validate(options) : null
  const allowedOrigin = (origin: string | null): string | null => {
    if (!policy || origin === null) return null
    if (policy.origins === '*') return '*'
    return policy.origins.includes(origin) ? origin : null
  }
  return {
    preflight(request) {
      const origin = request.headers.get('origin')
      if (request.method !== 'OPTIONS' || origin === null) return null
      if (!request.headers.has('access-control-request-method')) return null
      const allowed = allowedOrigin(origin)
      const headers: Record<string, string> = { Vary: 'Origin', 'Content-Length': '0' }
      if (allowed !== null && policy) {
        headers['Access-Control-Allow-Origin'] = allowed
        headers['Access-Control-Allow-Methods'] = METHODS
        headers['Access-Control-Allow-Headers'] = ALLOWED_HEADERS
        headers['Access-Control-Max-Age'] = String(policy.maxAgeSec)
        if (policy.credentials) headers['Access-Control-Allow-Credentials'] = 'true'
      }
      // A refused origin gets an answer without the allow headers: the browser stops there.
      return new Response(null, { status: 204, headers })
    },
    apply(request, response, foreign) {
      if (!policy && !foreign) return response
      const headers = response.headers
      if (foreign) {
        for (const name of [...headers.keys()]) {
          if (name.startsWith('access-control-')) headers.delete(name)
        }
      }
      if (!policy) return response
      const allowed = allowedOrigin(request.headers.get('origin'))
      headers.append('Vary', 'Origin')
      if (allowed === null) return response
      headers.set('Access-Control-Allow-Origin', allowed)
      headers.set('Access-Control-Expose-Headers', EXPOSED_HEADERS)
      if (policy.credentials) headers.set('Access-Control-Allow-Credentials', 'true')
      return response
    },
  }
}

function validate(options: CorsOptions): Required<CorsOptions> {
  const { origins } = options
  if (origins !== '*') {
    if (!Array.isArray(origins)) {
      throw new TypeError('createDarkroomHandler: cors.origins must be a list of origins or "*"')
    }
    for (const origin of origins) {
      let parsed: URL | null = null
      try {
        parsed = new URL(origin)
      } catch {
        parsed = null
      }
      if (!parsed || parsed.origin !== origin) {
        throw new TypeError(
          `createDarkroomHandler: cors origin ${JSON.stringify(origin)} is not an origin ` +
            '(scheme://host[:port], no path or trailing slash)',
        )
      }
    }
  }
  if (origins === '*' && options.credentials) {
    throw new TypeError('createDarkroomHandler: cors.credentials cannot be used with origins "*"')
  }
  return {
    origins,
    credentials: options.credentials ?? false,
    maxAgeSec: options.maxAgeSec ?? 600,
  }
}
