import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely'
import type { Pool, PoolConfig } from 'pg'
import { KyselyMetadataStore } from './kysely-metadata-store.js'
import type { Database } from './schema.js'

/**
 * Postgres through a pg `Pool`. Transactions run at READ COMMITTED (Postgres' default): each
 * statement reads what was committed before it began, and the checks on caps serialise on row
 * locks, `lockAlbum` and `lockOwner` taking `SELECT ... FOR UPDATE`. So a count that follows
 * `lockAlbum` sees every photo another transaction inserted under the same lock.
 *
 * `pg` is loaded on the first query, and this module is its own entry
 * (`@darkroom/storage/postgres`): SQLite users never load it.
 */
export interface PostgresStoreOptions {
  /** `postgres://user@host:5432/db`; required unless `pool` is given. */
  connectionString?: string
  /**
   * A pool of your own instead; the store owns it (`close()` ends it). Its int8 parser is yours:
   * the store converts the columns it reads, but `types` below is only applied to its own pool.
   */
  pool?: Pool
  /**
   * The schema to work in (it must exist): every connection of the store's own pool sets its
   * `search_path` to it. Default: the server's `search_path`.
   */
  schema?: string
  /** More pg pool settings (`max`, `idleTimeoutMillis`, `ssl`, ...) for the store's own pool. */
  poolConfig?: Omit<PoolConfig, 'connectionString'>
}

/** int8 (`bigint`, `count(*)`): pg returns it as a string; every value the store keeps fits. */
const INT8_OID = 20

/**
 * @example
 * const store = createPostgresStore({ connectionString: process.env.DATABASE_URL })
 * await store.migrate()
 */
export function createPostgresStore(options: PostgresStoreOptions): KyselyMetadataStore {
  if (!options?.pool && !options?.connectionString) {
    throw new Error('createPostgresStore: the `connectionString` (or `pool`) option is required.')
  }
  const { schema } = options
  if (schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_$]*$/.test(schema)) {
    throw new Error(`createPostgresStore: \`schema\` must be a plain identifier, got "${schema}".`)
  }
  const pool = options.pool ?? (async () => createPool(options))
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    plugins: [new CamelCasePlugin()],
  })
  return new KyselyMetadataStore({ db, dialect: 'postgres' })
}

async function createPool(options: PostgresStoreOptions): Promise<Pool> {
  const pg = await import('pg')
  const { Pool: PgPool, types } = pg.default ?? pg
  const config: PoolConfig = {
    ...options.poolConfig,
    connectionString: options.connectionString,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID && format !== 'binary'
          ? (value: string) => Number(value)
          : types.getTypeParser(oid, format)) as typeof types.getTypeParser,
    },
  }
  if (options.schema !== undefined) {
    const search = `-c search_path=${options.schema}`
    config.options = options.poolConfig?.options
      ? `${options.poolConfig.options} ${search}`
      : search
  }
  return new PgPool(config)
}
