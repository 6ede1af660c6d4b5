import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely'
import type { SqlDialectName } from '../schema.js'
import { initial } from './0001-initial.js'
import { server } from './0002-server.js'
import { listing } from './0003-listing.js'
import { retainedBlobs } from './0004-retained-blobs.js'
import { trashIndex } from './0005-trash-index.js'
import { manualDimensions } from './0006-manual-dimensions.js'
import { uploadsByOwner } from './0007-uploads-by-owner.js'
import { sessions } from './0008-sessions.js'
import { photosByOriginalKey } from './0009-photos-by-original-key.js'

/**
 * Migrations live in code, in order: no folder is scanned, so the bundle and the tests run the
 * same list. A migration takes the dialect for the few spots where SQL differs (collations);
 * everything else goes through the kysely schema builder. Names sort in run order, as kysely's
 * Migrator requires. Never edit a released migration: append one.
 */
export interface MetadataMigration {
  name: string
  up(db: Kysely<any>, dialect: SqlDialectName): Promise<void>
}

export const metadataMigrations: readonly MetadataMigration[] = [
  initial,
  server,
  listing,
  retainedBlobs,
  trashIndex,
  manualDimensions,
  uploadsByOwner,
  sessions,
  photosByOriginalKey,
]

/** The kysely `MigrationProvider` over `metadataMigrations` for one dialect. */
export function metadataMigrationProvider(dialect: SqlDialectName): MigrationProvider {
  return {
    async getMigrations() {
      const out: Record<string, Migration> = {}
      for (const m of metadataMigrations) out[m.name] = { up: (db) => m.up(db, dialect) }
      return out
    },
  }
}

export const MIGRATION_TABLE = 'darkroom_migration'
export const MIGRATION_LOCK_TABLE = 'darkroom_migration_lock'

/**
 * Brings the database `db` points at up to date with `metadataMigrations`. On Postgres the
 * migration tables are looked for in the connection's own schema (`current_schema()`, the
 * store's `schema` option or the pool's search_path): kysely's Migrator otherwise takes a
 * `darkroom_migration` table of any schema for its own, so a second Darkroom in another schema
 * of the same database skipped creating its tables and failed on start.
 */
export async function migrateToLatest(db: Kysely<any>, dialect: SqlDialectName): Promise<void> {
  const schema =
    dialect === 'postgres'
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]
          ?.schema
      : undefined
  const migrator = new Migrator({
    db,
    provider: metadataMigrationProvider(dialect),
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    ...(schema ? { migrationTableSchema: schema } : {}),
  })
  const { error } = await migrator.migrateToLatest()
  if (error) throw error
}
