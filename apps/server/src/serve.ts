import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { compose } from './compose.js'
import { ConfigError, loadConfig } from './config.js'
import { createLogger } from './logger.js'

/**
 * Starts the server from env: config, compose, listen, print the URL (and the admin key on the
 * first start), and stop gracefully on SIGTERM or SIGINT (a second signal exits at once).
 */
export async function serve(env: Record<string, string | undefined> = process.env): Promise<void> {
  let config
  try {
    config = loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message)
      process.exit(1)
    }
    throw error
  }
  const logger = createLogger(config.logLevel)
  const app = await compose({ config, logger })
  const key = await app.ensureAdminKey()
  const url = await app.listen()
  logger.info({ url, dataDir: config.dataDir }, 'Darkroom is listening')
  console.log(`Darkroom is listening on ${url}`)
  if (key) {
    console.log(
      `\nFirst start: an admin API key was created. It is shown only this once:\n\n  ${key}\n`,
    )
  }
  if (config.galleryDir && existsSync(join(config.galleryDir, 'index.html'))) {
    // The fragment never reaches the server; the page reads the key, keeps it and clears it.
    const gallery = key ? `${url}/#key=${key}` : `${url}/`
    console.log(`Open the web gallery: ${gallery}${key ? ' (signs you in)' : ''}`)
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
