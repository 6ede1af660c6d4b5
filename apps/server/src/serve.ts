import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { isDarkroomError } from '@darkroom/core'
import { compose } from './compose.js'
import { ConfigError, loadConfig } from './config.js'
import { createListener, ListenError, type Listener } from './http/listener.js'
import { createLogger } from './logger.js'

/**
 * Starts the server from env: config, compose, listen, print the URL (and, on the first start,
 * the admin key and a one-time sign-in link for the gallery), and stop gracefully on SIGTERM or
 * SIGINT (a second signal exits at once).
 *
 * The ports are bound first, before the data folder, the signing secret, the database or the
 * admin key are created: a start that cannot listen (a busy port, a foreign address, a port
 * below 1024) leaves nothing behind, and the key printed on the first start is never one that
 * nobody saw. Requests that reach the bound port before the engine is ready get 503.
 *
 * A start-up refused for a known reason (a bad variable, a port it cannot bind, or an engine
 * that cannot run as configured, such as video enabled without ffmpeg) prints one line and exits
 * 1: the message already says what to fix, and a stack trace would bury it. Anything else is a
 * bug and keeps its stack.
 */
export async function serve(env: Record<string, string | undefined> = process.env): Promise<void> {
  let started
  try {
    started = await start(env)
  } catch (error) {
    const line = startupFailure(error)
    if (line === null) throw error
    console.error(line)
    process.exit(1)
  }
  const { config, logger, app, admin, url } = started
  logger.info({ url, dataDir: config.dataDir }, 'Darkroom is listening')
  console.log(`Darkroom is listening on ${url}`)
  if (app.metricsUrl) console.log(`Metrics (no key needed): ${app.metricsUrl}/metrics`)
  if (admin) {
    console.log(
      `\nFirst start: an admin API key was created. It is shown only this once:\n\n  ${admin.key}\n`,
    )
  }
  if (config.galleryDir && existsSync(join(config.galleryDir, 'index.html'))) {
    // Never the key in a URL (history, logs, a shared screen): a one-time code that the page
    // exchanges for a session, within 10 minutes. The fragment never reaches a server log.
    const gallery = admin ? `${url}/#code=${admin.signInCode}` : `${url}/`
    console.log(
      `Open the web gallery: ${gallery}${admin ? ' (signs you in once, within 10 minutes)' : ''}`,
    )
  }

  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    logger.info({ signal }, 'shutting down: finishing requests in flight')
    app.close().then(
      () => {
        logger.info('stopped')
        process.exit(0)
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

async function start(env: Record<string, string | undefined>) {
  // What the server writes (the database with webhook secrets, the photos, uploads, the
  // signing secret) is its user's alone: files 0600, folders 0700.
  process.umask(0o077)
  const config = loadConfig(env)
  const logger = createLogger(config.logLevel)
  // Nothing on disk yet: config only resolved paths.
  const listener = createListener({
    port: config.port,
    host: config.host,
    portVariable: 'PORT',
    hostVariable: 'HOST',
    limits: config.connections,
  })
  const metricsListener =
    config.metrics.port === null
      ? undefined
      : createListener({
          port: config.metrics.port,
          host: config.metrics.host,
          portVariable: 'METRICS_PORT',
          hostVariable: 'METRICS_HOST',
        })
  const bound: Listener[] = []
  try {
    for (const each of [listener, metricsListener]) {
      if (!each) continue
      await each.listen()
      bound.push(each)
    }
    const app = await compose({
      config,
      logger,
      listener,
      ...(metricsListener ? { metricsListener } : {}),
    })
    try {
      const url = await app.listen()
      const admin = await app.ensureAdminKey()
      return { config, logger, app, admin, url }
    } catch (error) {
      await app.close(0).catch(() => undefined)
      throw error
    }
  } catch (error) {
    await Promise.all(bound.map((each) => each.close(0).catch(() => undefined)))
    throw error
  }
}

/**
 * The message for a start-up refused for a known reason, or `null` for an unexpected error.
 * A `DarkroomError` becomes one line led by its code; a `ConfigError` already lists every bad
 * variable, one per line.
 */
function startupFailure(error: unknown): string | null {
  if (error instanceof ConfigError) return error.message
  if (error instanceof ListenError) return `Darkroom cannot start: ${error.message}`
  if (isDarkroomError(error)) {
    return `Darkroom cannot start: ${error.code}: ${error.message.replace(/\s*\n\s*/g, ' ')}`
  }
  return null
}
