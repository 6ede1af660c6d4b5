#!/usr/bin/env node
import { parseArgs } from 'node:util'
import type { Caller, Scope } from '@darkroom/core'
import { createApiKey, createSignInCode } from '@darkroom/trpc'
import { createEngine, type Engine } from '../compose.js'
import { ConfigError, loadConfig, type ServerConfig } from '../config.js'
import { createLogger } from '../logger.js'
import { serve } from '../serve.js'

/**
 * `darkroom <command>`: the server and its maintenance, over the same config (env) as the
 * server. Commands other than `serve` open the database and blob store directly; they are safe
 * to run beside a running server (SQLite waits for the other process's write lock).
 */

const USAGE = `Usage: darkroom <command> [options]

Commands:
  serve                                   start the HTTP server (same as npm start)
  keys create --owner <id> [--name <n>] [--scopes photos.read,photos.write|admin]
  keys list --owner <id>
  keys revoke <key id>
  keys code <key id>                      a one-time sign-in link for that key (10 minutes):
                                          open <server>/#code=<code> in the gallery
  repair-dimensions [--only-missing] [--override-manual]
                                          re-read width/height/orientation of every photo
                                          (dimensions set by hand only with --override-manual)
  purge-pending                           remove pending photos past their TTL
  purge-trash [--older-than-days <days>]  empty the trash of photos past the retention
  sweep-orphans [--dry-run] [--older-than-ms <ms>]
                                          remove blobs no photo references

Configuration comes from the environment (PORT, DATA_DIR, DATABASE_URL, BLOB_URL, ...).`

const ADMIN: Caller = { ownerId: 'admin', scopes: ['admin'] }

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE)
    return command ? 0 : 1
  }
  if (command === 'serve') {
    await serve()
    return -1
  }
  const config = loadConfig()
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, {
    pretty: false,
  })
  const engine = await createEngine(config, logger)
  try {
    return await run(engine, command, rest, config)
  } finally {
    await engine.darkroom.close()
  }
}

async function run(
  engine: Engine,
  command: string,
  rest: string[],
  config: ServerConfig,
): Promise<number> {
  const { darkroom, serverStore } = engine
  switch (command) {
    case 'keys': {
      const [sub, ...args] = rest
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
          owner: { type: 'string' },
          name: { type: 'string' },
          scopes: { type: 'string' },
        },
      })
      if (sub === 'create') {
        if (!values.owner) return usage('keys create needs --owner <id>')
        const scopes = (values.scopes ?? 'photos.read,photos.write')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean) as Scope[]
        const { key, apiKey } = await createApiKey(serverStore, {
          ownerId: values.owner,
          name: values.name ?? 'cli',
          scopes,
        })
        console.log(JSON.stringify({ ...apiKey, key }, null, 2))
        console.error('The key is shown only this once.')
        return 0
      }
      if (sub === 'list') {
        if (!values.owner) return usage('keys list needs --owner <id>')
        const keys = await serverStore.listApiKeys(values.owner)
        console.log(
          JSON.stringify(
            keys.map(({ hash: _hash, ...info }) => info),
            null,
            2,
          ),
        )
        return 0
      }
      if (sub === 'revoke') {
        const id = positionals[0]
        if (!id) return usage('keys revoke needs the key id')
        const revoked = await serverStore.revokeApiKey(id, new Date())
        console.log(JSON.stringify({ id: revoked.id, revokedAt: revoked.revokedAt }, null, 2))
        return 0
      }
      if (sub === 'code') {
        const id = positionals[0]
        if (!id) return usage('keys code needs the key id (see keys list)')
        const { code, ownerId, expiresAt } = await createSignInCode(serverStore, { keyId: id })
        const base = config.publicBaseUrl || `http://${config.host}:${config.port}`
        console.log(JSON.stringify({ ownerId, expiresAt, link: `${base}/#code=${code}` }, null, 2))
        console.error('The link signs in once, within 10 minutes; it is shown only this once.')
        return 0
      }
      return usage(`unknown keys command ${JSON.stringify(sub ?? '')}`)
    }
    case 'repair-dimensions': {
      const { values } = parseArgs({
        args: rest,
        options: { 'only-missing': { type: 'boolean' }, 'override-manual': { type: 'boolean' } },
      })
      const result = await darkroom.photos.repairDimensions(ADMIN, {
        onlyMissing: values['only-missing'] === true,
        overrideManual: values['override-manual'] === true,
      })
      console.log(JSON.stringify(result, null, 2))
      return result.failed > 0 ? 2 : 0
    }
    case 'purge-pending': {
      console.log(JSON.stringify(await darkroom.maintenance.purgePending(), null, 2))
      return 0
    }
    case 'purge-trash': {
      const { values } = parseArgs({
        args: rest,
        options: { 'older-than-days': { type: 'string' } },
      })
      const days = values['older-than-days']
      if (days !== undefined && !/^\d+(\.\d+)?$/.test(days)) {
        return usage('--older-than-days takes a number of days')
      }
      const result = await darkroom.maintenance.purgeTrash(
        days !== undefined
          ? { olderThanMs: Math.max(1, Math.round(Number(days) * 86_400_000)) }
          : {},
      )
      console.log(JSON.stringify(result, null, 2))
      return 0
    }
    case 'sweep-orphans': {
      const { values } = parseArgs({
        args: rest,
        options: { 'dry-run': { type: 'boolean' }, 'older-than-ms': { type: 'string' } },
      })
      const olderThan = values['older-than-ms']
      if (olderThan !== undefined && !/^\d+$/.test(olderThan)) {
        return usage('--older-than-ms takes a whole number of milliseconds')
      }
      const result = await darkroom.maintenance.sweepOrphans({
        dryRun: values['dry-run'] === true,
        ...(olderThan !== undefined ? { olderThanMs: Number(olderThan) } : {}),
      })
      console.log(
        JSON.stringify(
          { scanned: result.scanned, orphans: result.orphans, incomplete: result.incomplete },
          null,
          2,
        ),
      )
      return 0
    }
    default:
      return usage(`unknown command ${JSON.stringify(command)}`)
  }
}

function usage(problem: string): number {
  console.error(`darkroom: ${problem}\n\n${USAGE}`)
  return 64
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code
  },
  (error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message)
    else console.error(`darkroom: ${error instanceof Error ? error.message : String(error)}`)
    process.exitCode = 1
  },
)
