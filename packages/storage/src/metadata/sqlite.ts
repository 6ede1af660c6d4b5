import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import {
  CamelCasePlugin,
  CompiledQuery,
  Kysely,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDialectConfig,
} from 'kysely'
import { KyselyMetadataStore } from './kysely-metadata-store.js'
import type { Database } from './schema.js'
import { fastStatements } from './fast-statements.js'

/**
 * SQLite through better-sqlite3. One connection: kysely's `SqliteDriver` hands it out behind a
 * mutex, and a transaction holds it from `begin` to `commit`, so transactions and standalone
 * writes of this process already run one after the other. Transactions still begin IMMEDIATE:
 * they take the write lock up front, so another process on the same file (a CLI, a second
 * server) waits `busy_timeout` instead of failing with SQLITE_BUSY on a read-to-write upgrade,
 * and `lockAlbum`/`lockOwner` hold from the transaction's first statement.
 */
export interface SqliteStoreOptions {
  /** The database file (its folder is created); `:memory:` for a private in-memory one. */
  filename: string
  /** How long to wait for another process's lock; default 5000. */
  busyTimeoutMs?: number
}

/**
 * @example
 * const store = createSqliteStore({ filename: join(dataDir, 'darkroom.db') })
 * await store.migrate()
 */
export function createSqliteStore(options: SqliteStoreOptions): KyselyMetadataStore {
  if (!options?.filename) throw new Error('createSqliteStore: the `filename` option is required.')
  const { filename } = options
  const inMemory = filename === ':memory:' || filename.startsWith('file::memory:')
  if (!inMemory) mkdirSync(dirname(resolve(filename)), { recursive: true })
  const database = new BetterSqlite3(filename)
  try {
    database.pragma('journal_mode = WAL')
    database.pragma('foreign_keys = ON')
    database.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`)
    database.pragma('synchronous = NORMAL')
  } catch (error) {
    database.close()
    throw error
  }
  const db = new Kysely<Database>({
    dialect: new ImmediateSqliteDialect({ database: fastStatements(database) }),
    plugins: [new CamelCasePlugin()],
  })
  return new KyselyMetadataStore({ db, dialect: 'sqlite' })
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig

  constructor(config: SqliteDialectConfig) {
    super(config)
    this.#config = config
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config)
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}
