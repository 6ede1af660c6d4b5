export { KyselyMetadataStore } from './metadata/kysely-metadata-store.js'
export type { KyselyMetadataStoreOptions } from './metadata/kysely-metadata-store.js'
export { createSqliteStore } from './metadata/sqlite.js'
export type { SqliteStoreOptions } from './metadata/sqlite.js'
export type * from './metadata/schema.js'
export {
  metadataMigrations,
  metadataMigrationProvider,
  MIGRATION_TABLE,
  MIGRATION_LOCK_TABLE,
} from './metadata/migrations/index.js'
export type { MetadataMigration } from './metadata/migrations/index.js'
export { FsBlobStore, createFsBlobStore } from './blob/fs-blob-store.js'
export type { FsBlobStoreOptions } from './blob/fs-blob-store.js'
export { KyselyServerStore } from './server/kysely-server-store.js'
export type { KyselyServerStoreOptions } from './server/kysely-server-store.js'
