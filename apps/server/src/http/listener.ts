import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

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
  /** How long a client may take, and how many sockets it may hold; defaults below. */
  limits?: Partial<ConnectionLimits>
}

/**
 * What a slow or greedy client may hold (`HTTP_*` variables). A request whose headers take
 * longer than `headersTimeoutMs`, or whose body is not all in after `requestTimeoutMs`, is cut
 * off (408; the time to answer does not count); a kept-alive socket with no request for
 * `keepAliveTimeoutMs` is closed; past `maxConnections` in all or `maxConnectionsPerIp` from
 * one address, a new socket is closed at once. A large upload at a normal speed finishes well
 * inside these; a very long one goes through tus in chunks, each its own request (and a chunk
 * that is cut resumes from the upload's offset).
 */
export interface ConnectionLimits {
  headersTimeoutMs: number
  requestTimeoutMs: number
  keepAliveTimeoutMs: number
  maxConnections: number
  /** 0: no per-address cap (behind a proxy every client has the proxy's address). */
  maxConnectionsPerIp: number
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 10 * 60_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 2_000,
  maxConnectionsPerIp: 200,
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
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits }
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often Node checks the two timeouts above: a tenth of the shorter, within 1-30 s.
      connectionsCheckingInterval: Math.min(
        30_000,
        Math.max(100, Math.round(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 10)),
      ),
    },
    (req, res) => handler(req, res),
  )
  server.maxConnections = limits.maxConnections
  capConnectionsPerAddress(server, limits.maxConnectionsPerIp)
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

/** Closes a new socket at once when its address already holds `max` of them (0: no cap). */
function capConnectionsPerAddress(server: Server, max: number): void {
  if (max <= 0) return
  const open = new Map<string, number>()
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? ''
    const count = open.get(address) ?? 0
    if (count >= max) {
      socket.destroy()
      return
    }
    open.set(address, count + 1)
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1
      if (left > 0) open.set(address, left)
      else open.delete(address)
    })
  })
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
