import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import type { MetadataStore, PhotoQuery, PhotoSort } from '@darkroom/core'
import { makeAlbumRecord, makePhotoRecord } from '@darkroom/core/testing'
import { CamelCasePlugin, Kysely, PostgresDialect, SqliteDialect, type Dialect } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KyselyMetadataStore } from './kysely-metadata-store.js'
import { createPostgresStore } from './postgres.js'
import { admin, POSTGRES_URL, postgresUnreachable } from './postgres.test-support.js'
import type { Database, SqlDialectName } from './schema.js'
import { createSqliteStore } from './sqlite.js'

/**
 * Listing on both SQL dialects (issue 6): the `total` read from the trigger-kept `photo_counts`
 * equals a count of the rows after every kind of write, and a keyset page of one album is an
 * index range scan in the sort's order, read from the plan of the store's own query.
 * Postgres runs in a schema of this file's own and skips when nothing answers.
 */
const dir = mkdtempSync(join(tmpdir(), 'darkroom-listing-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const url = POSTGRES_URL
const schema = `dr_${randomUUID().replaceAll('-', '').slice(0, 20)}`
const pgOptions = { connectionString: url, options: `-c search_path=${schema}` }
const pgReachable = (await postgresUnreachable()) === null

interface Target {
  name: SqlDialectName
  skip: boolean
  store(): MetadataStore
  /** A store whose queries are recorded, and the plan of a recorded query as text. */
  traced(): Promise<{
    store: KyselyMetadataStore
    queries: { sql: string; parameters: readonly unknown[] }[]
    analyze(): Promise<void>
    plan(sql: string, parameters: readonly unknown[]): Promise<string>
    close(): Promise<void>
  }>
}

const sqliteFile = join(dir, 'listing.db')
const targets: Target[] = [
  {
    name: 'sqlite',
    skip: false,
    store: () => createSqliteStore({ filename: sqliteFile }),
    async traced() {
      const database = new BetterSqlite3(sqliteFile)
      const { store, queries } = tracedStore(new SqliteDialect({ database }), 'sqlite')
      return {
        store,
        queries,
        analyze: async () => void database.exec('analyze'),
        plan: async (sql, parameters) =>
          (database.prepare(`explain query plan ${sql}`).all(...parameters) as { detail: string }[])
            .map((row) => row.detail)
            .join('\n'),
        close: () => store.close(),
      }
    },
  },
  {
    name: 'postgres',
    skip: !pgReachable,
    store: () => createPostgresStore({ connectionString: url, schema }),
    async traced() {
      const pool = new pg.Pool(pgOptions)
      const { store, queries } = tracedStore(new PostgresDialect({ pool }), 'postgres')
      return {
        store,
        queries,
        analyze: async () => void (await pool.query('analyze photos')),
        async plan(sql, parameters) {
          const client = await pool.connect()
          try {
            // A few hundred rows would rather be read whole and sorted: ask for an index plan.
            for (const scan of ['seqscan', 'bitmapscan', 'sort']) {
              await client.query(`set enable_${scan} = off`)
            }
            const result = await client.query<{ 'QUERY PLAN': string }>(
              `explain ${sql}`,
              parameters as unknown[],
            )
            await client.query('reset all')
            return result.rows.map((row) => row['QUERY PLAN']).join('\n')
          } finally {
            client.release()
          }
        },
        close: () => store.close(),
      }
    },
  },
]

function tracedStore(dialect: Dialect, name: SqlDialectName) {
  const queries: { sql: string; parameters: readonly unknown[] }[] = []
  const db = new Kysely<Database>({
    dialect,
    plugins: [new CamelCasePlugin()],
    log: (event) => void queries.push(event.query),
  })
  return { store: new KyselyMetadataStore({ db, dialect: name }), queries }
}

beforeAll(async () => {
  if (pgReachable) await admin((c) => c.query(`create schema ${schema}`))
})
afterAll(async () => {
  if (pgReachable) await admin((c) => c.query(`drop schema if exists ${schema} cascade`))
})

describe.each(targets)('listing on $name', (target) => {
  it.skipIf(target.skip)('keeps total exact through every write that moves a photo', async () => {
    const store = target.store()
    await store.migrate()
    const owner = `owner-${randomUUID()}`
    const other = `other-${randomUUID()}`
    const [a, b] = [makeAlbumRecord({ ownerId: owner }), makeAlbumRecord({ ownerId: owner })]
    await store.insertAlbum(a)
    await store.insertAlbum(b)
    const photo = (overrides: Parameters<typeof makePhotoRecord>[0]) =>
      makePhotoRecord({ ownerId: owner, checksum: randomUUID(), ...overrides })
    const inA = [1, 2, 3, 4].map(() => photo({ albumId: a.id }))
    const pending = photo({ albumId: a.id, pending: true })
    const trashed = photo({ albumId: a.id, deletedAt: new Date() })
    const othersInA = photo({ albumId: a.id, ownerId: other })
    const rest = [photo({ albumId: b.id }), photo({ albumId: b.id }), photo({}), photo({})]
    for (const p of [...inA, pending, trashed, othersInA, ...rest]) await store.insertPhoto(p)

    // Every shape `total` is read from photo_counts for, against the rows actually listed.
    const check = async () => {
      for (const albumId of [a.id, b.id, null, undefined]) {
        for (const [isPending, isTrashed] of [
          [false, false],
          [true, false],
          [false, true],
          [true, true],
        ] as const) {
          const query: PhotoQuery = {
            ownerId: owner,
            pending: isPending,
            trashed: isTrashed,
            sort: 'uploaded',
            order: 'asc',
            limit: 1000,
          }
          if (albumId !== undefined) query.albumId = albumId
          const page = await store.listPhotos(query)
          expect(page.total, JSON.stringify({ albumId, isPending, isTrashed })).toBe(
            page.items.length,
          )
        }
      }
      let inAlbum = 0
      for (const ownerId of [owner, other]) {
        for (const isPending of [false, true]) {
          const q = { ownerId, albumId: a.id, pending: isPending, count: false }
          inAlbum += (await store.listPhotos({ ...q, sort: 'uploaded', order: 'asc', limit: 99 }))
            .items.length
        }
      }
      expect(await store.countAlbumPhotos(a.id)).toBe(inAlbum)
    }

    await check()
    await store.updatePhoto(inA[0]!.id, { albumId: b.id }) // move
    await store.updatePhoto(inA[1]!.id, { deletedAt: new Date() }) // trash
    await store.updatePhoto(trashed.id, { deletedAt: null }) // restore
    await store.updatePhoto(pending.id, { pending: false }) // ingest done
    await store.updatePhoto(inA[2]!.id, { description: 'no move' })
    await store.updatePhoto(inA[1]!.id, { deletedAt: new Date(Date.now() + 1) }) // still trashed
    await check()
    await store.deletePhoto(inA[3]!.id)
    await store.deleteAlbum(b.id) // its photos move out of any album
    await store
      .transaction(async (tx) => {
        await tx.insertPhoto(photo({ albumId: a.id }))
        throw new Error('rolled back')
      })
      .catch(() => undefined)
    await check()
    expect(
      (await store.listPhotos({ ownerId: owner, sort: 'uploaded', order: 'asc', limit: 1 })).total,
    ).toBe(8)
    await store.close()
  })

  it.skipIf(target.skip)('pages an album by an index range scan, with no sort', async () => {
    const traced = await target.traced()
    const { store, queries } = traced
    await store.migrate()
    const owner = `owner-${randomUUID()}`
    const albums = [makeAlbumRecord({ ownerId: owner }), makeAlbumRecord({ ownerId: owner })]
    for (const album of albums) await store.insertAlbum(album)
    for (let i = 0; i < 300; i++) {
      await store.insertPhoto(
        makePhotoRecord({
          ownerId: owner,
          albumId: albums[i % 2]!.id,
          checksum: randomUUID(),
          filename: `IMG_${(i * 37) % 300}.jpg`,
          takenAt: `2020-01-01T00:${String(i % 60).padStart(2, '0')}:00`,
          position: `a${String(i).padStart(4, '0')}`,
        }),
      )
    }
    await traced.analyze()
    const columns: Record<string, string> = {
      position: 'position',
      taken: 'taken_sort',
      filename: 'filename',
    }
    for (const sort of ['position', 'taken', 'filename'] as PhotoSort[]) {
      const query: PhotoQuery = {
        ownerId: owner,
        albumId: albums[0]!.id,
        sort,
        order: 'asc',
        limit: 51,
      }
      const first = await store.listPhotos(query)
      const last = first.items[first.items.length - 1]!
      const value =
        sort === 'taken'
          ? last.takenAt!.slice(0, 19)
          : sort === 'filename'
            ? last.filename
            : last.position
      queries.length = 0
      await store.listPhotos({ ...query, after: { value, id: last.id }, count: false })
      const { sql, parameters } = queries[0]!
      const plan = await traced.plan(sql, parameters)
      const index =
        sort === 'position' ? 'photos_owner_album_position' : `photos_owner_album_${sort}`
      expect(plan).toContain(index)
      expect(plan).not.toMatch(/TEMP B-TREE|Sort/)
      // The range starts at the keyset: the index is entered there, not walked from the start.
      const column = columns[sort]!
      expect(plan).toMatch(
        target.name === 'sqlite'
          ? new RegExp(`album_key=\\? AND \\(${column},id\\)>\\(\\?,\\?\\)`)
          : new RegExp(`Index Cond: .*ROW\\("?${column}"?, id\\) > ROW`),
      )
    }
    await traced.close()
  })
})
