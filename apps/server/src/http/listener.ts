import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A Node HTTP server that can be bound before the rest of the service exists. `serve()` binds
 * first, so that a busy port or a forbidden address stops the start before the data folder,
 * the database or the admin key are created; `use()` then hands it the real handler. Requests
 * that arrive in between get 503 with `Retry-After: 1`.
 *
 * A failure to bind is a `ListenError` whose message is the one line to print: what failed,
 * on which address, and the variable that changes it.
 */

export interface ListenerOptions {
  port: number
  host: string
  /** The variable that sets this port, named in errors (`PORT`, `METRICS_PORT`). */
  portVariable: string
  /** The variable that sets the host (`HOST`, `METRICS_HOST`). */
  hostVariable: string
}

export interface Listener {
  readonly server: Server
  /** `http://host:port` once bound, else null. */
  readonly url: string | null
  /** Where requests go from now on. */
  use(handler: RequestListener): void
  /** Binds (once; later calls return the same URL). Rejects with a `ListenError`. */
  listen(): Promise<string>
  /**
   * Stops accepting connections and lets requests in flight finish for up to `graceMs`, then
   * cuts what is left.
   */
  close(graceMs?: number): Promise<void>
}

export class ListenError extends Error {
  override readonly name = 'ListenError'
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export function createListener(options: ListenerOptions): Listener {
  let handler: RequestListener = starting
  const server = createServer({ requestTimeout: 0 }, (req, res) => handler(req, res))
  // Uploads may be long; idle sockets are not kept forever.
  server.keepAliveTimeout = 5_000
  server.headersTimeout = 60_000
  let url: string | null = null
  let listening: Promise<string> | undefined

  return {
    server,
    get url() {
      return url
    },
    use(next) {
      handler = next
    },
    listen() {
      listening ??= new Promise<string>((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException) => {
          reject(listenError(error, options))
        }
        server.once('error', onError)
        server.listen(options.port, options.host, () => {
          server.off('error', onError)
          const { port } = server.address() as AddressInfo
          const host = options.host.includes(':') ? `[${options.host}]` : options.host
          url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host}:${port}`
          resolve(url)
        })
      })
      return listening
    },
    async close(graceMs = 30_000) {
      if (!server.listening) return
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const grace = setTimeout(() => server.closeAllConnections(), graceMs)
      grace.unref()
      await stopped
      clearTimeout(grace)
    },
  }
}

function starting(_req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify({
    error: { code: 'SERVICE_UNAVAILABLE', message: 'Darkroom is starting; try again shortly.' },
  })
  res.writeHead(503, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Retry-After': '1',
    'Cache-Control': 'no-store',
  })
  res.end(body)
}

/** The one line for a failed bind, naming the variable to change. */
function listenError(error: NodeJS.ErrnoException, options: ListenerOptions): ListenError {
  const { port, host, portVariable, hostVariable } = options
  const where = `port ${port} on ${host}`
  const messages: Record<string, string> = {
    EADDRINUSE: `${where} is in use (set ${portVariable}).`,
    EACCES: `${where} needs privileges this process does not have (set ${portVariable} to 1024 or above).`,
    EADDRNOTAVAIL: `${host} is not an address of this machine (set ${hostVariable}).`,
    ENOTFOUND: `${host} does not resolve to an address (set ${hostVariable}).`,
    EAI_AGAIN: `${host} could not be resolved (set ${hostVariable}).`,
  }
  const message =
    (error.code && messages[error.code]) ??
    `cannot listen on ${where}: ${error.message} (set ${portVariable} or ${hostVariable}).`
  return new ListenError(message, error.code, { cause: error })
}
