import { deepStrictEqual, strictEqual } from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import {
  CamelCasePlugin,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  type CompiledQuery,
  type Dialect,
} from 'kysely'
import pg from 'pg'
import type { Darkroom, PhotoSort } from '@darkroom/core'
import { KyselyMetadataStore, type Database } from '@darkroom/storage'
// The service's own cursor encoding (not public API): crafted cursors are byte for byte what a
// client would hold, which `run` asserts against the API for the first mark.
import { decodeCursor, encodeCursor } from '../packages/core/src/domain/cursor.js'
import { printTable, size, stats, writeJson, type Row } from './lib.js'
import { POSTGRES_URL, postgresUnreachable } from '../apps/server/src/testing/postgres.js'
import { benchCaller as me, seedAlbum, seedAlbumPostgres } from './seed.js'

/**
 * Listing: one album of PHOTOS (default 1,000,000; 2,000 in quick mode) photos on SQLite and
 * then on Postgres (skipped with a line when it does not answer), pages
 * of 50 through `darkroom.photos.list` (the whole service path: validation, query, row → Photo),
 * sorted by position, taken date and filename.
 *
 * - Keyset pages after the first page, the middle and the last page of the album, timed
 *   interleaved (one of each per round) so the ratio last/first shares the same noise.
 * - The first page, which also reports `total`: read from the trigger-kept `photo_counts`
 *   (migration 0003), not counted; the full COUNT it replaced is timed beside it.
 * - The CPU time of the last keyset page: on a shared machine, what the page itself costs.
 * - OFFSET pages at the same rows, the same run's baseline (fewer runs: they are slow).
 *
 * Cursors are not walked to (5,000 pages per sort at 1M): the row before each mark is found by
 * SQL on the seeded file and its cursor built with the service's encoding.
 */
const PHOTOS = size('PHOTOS', 1_000_000, 2_000)
const REPEAT = size('REPEAT', 200, 5)
const OFFSET_REPEAT = size('OFFSET_REPEAT', 3, 1)
const LIMIT = 50
/** `LISTING_STORES=postgres` measures one store; default both. */
const STORES = (process.env.LISTING_STORES ?? 'sqlite,postgres').split(',')
const SORT_SQL: Record<string, string> = {
  position: 'position',
  taken: 'taken_sort',
  filename: 'filename',
}

export async function run(): Promise<Row[]> {
  const rows: Row[] = []
  if (STORES.includes('sqlite')) {
    const dir = await mkdtemp(join(tmpdir(), 'darkroom-bench-list-'))
    try {
      await measure(await sqliteListing(dir), rows)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  const unreachable = STORES.includes('postgres') ? await postgresUnreachable() : 'not asked'
  if (unreachable) console.log(`listing on Postgres skipped: ${POSTGRES_URL} (${unreachable})`)
  else await measure(await postgresListing(), rows)
  printTable('listing: one page of 50 (lower is better)', rows)
  writeJson('listing', rows)
  return rows
}

/** An album seeded on one store, with raw SQL beside the engine for cursors and plans. */
interface ListingDb {
  name: string
  darkroom: Darkroom
  albumId: string
  /** The first row of `sql` (`$1`-style parameters). */
  one<T>(sql: string, parameters: readonly unknown[]): Promise<T>
  /** The SQL the store runs for `run` (recorded by a kysely logger on a connection of its own). */
  recordSql(run: (store: KyselyMetadataStore) => Promise<unknown>): Promise<CompiledQuery>
  /** Throws unless the plan of `query` is a range scan of an album index with no sort step. */
  checkPlan(query: CompiledQuery, label: string): Promise<void>
  close(): Promise<void>
}

async function measure(store: ListingDb, rows: Row[]) {
  const { darkroom, albumId } = store
  const conditions = `${PHOTOS} photos in one album, ${store.name}, limit ${LIMIT}`
  const marks = [LIMIT, Math.floor(PHOTOS / 2 / LIMIT) * LIMIT, PHOTOS - LIMIT]
  const firstRow = rows.length

  for (const sort of ['position', 'taken', 'filename'] as PhotoSort[]) {
    const list = (extra: { cursor?: string; offset?: number }) =>
      darkroom.photos.list(me, { albumId, sort, order: 'asc', limit: LIMIT, ...extra })
    const firstPage = await list({})
    strictEqual(firstPage.total, PHOTOS, 'total of the first page')
    const cursors: string[] = []
    for (const at of marks) cursors.push(await cursorAt(store, sort, at, firstPage.total))
    strictEqual(cursors[0], firstPage.nextCursor, 'crafted cursor = the API’s')
    // Keyset and OFFSET pages agree; that OFFSET read is its first timed run (they are slow).
    const offsetTimes: number[][] = []
    for (const [i, at] of marks.entries()) {
      const keyset = await list({ cursor: cursors[i]! })
      const start = performance.now()
      const offset = await list({ offset: at })
      offsetTimes.push([performance.now() - start])
      deepStrictEqual(ids(keyset.items), ids(offset.items), `keyset = OFFSET at row ${at}`)
    }
    const { value, id } = decodeCursor(cursors[2]!, sort, 'asc')
    const query = await store.recordSql((s) =>
      s.listPhotos({
        ownerId: me.ownerId,
        albumId,
        sort,
        order: 'asc',
        limit: LIMIT + 1,
        after: { value, id },
        count: false,
      }),
    )
    await store.checkPlan(query, `${store.name} ${sort} keyset`)

    const cases = [() => list({}), ...cursors.map((cursor) => () => list({ cursor }))]
    const [first, ...keyset] = (await samples(cases, REPEAT)).map((values) => stats(values, 0.99))
    const runs = `${REPEAT} interleaved runs, max = p99`
    const label = `${store.name} ${sort}`
    rows.push({
      name: `${label}: first page (+ total)`,
      unit: 'ms',
      ...first!,
      ratio: first!.median / keyset[0]!.median,
      conditions: `${conditions}; ${runs}; total from photo_counts; ratio = this / keyset after row ${marks[0]}`,
    })
    for (const [i, at] of marks.entries()) {
      rows.push({
        name: `${label}: keyset page after row ${at}`,
        unit: 'ms',
        ...keyset[i]!,
        ratio: keyset[i]!.median / keyset[0]!.median,
        conditions: `${conditions}; ${runs}; ratio = this / keyset after row ${marks[0]}`,
      })
    }
    // CPU time of this process (all threads): the work a page costs here, which the other jobs
    // on a shared machine inflate less than the wall time (Postgres' own CPU is not in it).
    const cpu = await cpuPerRun(() => list({ cursor: cursors[2]! }), REPEAT)
    rows.push({
      name: `${label}: CPU per keyset page after row ${marks[2]}`,
      unit: 'ms',
      median: cpu,
      min: cpu,
      max: cpu,
      ratio: cpu / keyset[2]!.median,
      conditions: `${conditions}; mean of ${REPEAT} runs (process.cpuUsage); ratio = CPU / wall median`,
    })
    for (const [i, at] of marks.entries()) {
      const more = await samples([() => list({ offset: at })], OFFSET_REPEAT - 1, false)
      const offset = stats([...offsetTimes[i]!, ...more[0]!], 0.99)
      rows.push({
        name: `${label}: OFFSET ${at} (baseline)`,
        unit: 'ms',
        ...offset,
        ratio: offset.median / keyset[i]!.median,
        conditions: `${conditions}; ${OFFSET_REPEAT} runs; ratio = OFFSET / keyset at the same row`,
      })
    }
  }

  // What the first page paid for `total` before migration 0003: the listing's filter, counted.
  const count = () =>
    store.one(
      `SELECT count(*) FROM photos WHERE owner_id = $1 AND album_key = $2 AND pending = false
       AND deleted_at IS NULL`,
      [me.ownerId, albumId],
    )
  const full = stats((await samples([count], OFFSET_REPEAT))[0]!, 0.99)
  rows.push({
    name: `${store.name}: total by full COUNT(*) (before 0003)`,
    unit: 'ms',
    ...full,
    ratio: full.median / rows[firstRow]!.median,
    conditions: `${conditions}; ${OFFSET_REPEAT} runs, raw SQL; ratio = this / position first page`,
  })
  await store.close()
}

/** The album on SQLite (WAL) in `dir`, read by a second, read-only connection for raw SQL. */
async function sqliteListing(dir: string): Promise<ListingDb> {
  const { darkroom, albumId, filename } = await seedAlbum(dir, PHOTOS, { analyze: true })
  const db = new BetterSqlite3(filename, { readonly: true })
  const positional = (sql: string) => sql.replace(/\$\d+/g, '?')
  return {
    name: 'SQLite',
    darkroom,
    albumId,
    one: async <T>(sql: string, parameters: readonly unknown[]) =>
      db.prepare(positional(sql)).get(...parameters) as T,
    recordSql: (run) =>
      recordSql(
        'sqlite',
        new SqliteDialect({ database: new BetterSqlite3(filename, { readonly: true }) }),
        run,
      ),
    checkPlan: async ({ sql, parameters }, label) => {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters) as {
        detail: string
      }[]
      const detail = plan.map((p) => p.detail).join('; ')
      console.log(`plan (${label}): ${detail}`)
      if (!detail.startsWith('SEARCH photos USING INDEX photos_owner_album_') || plan.length > 1) {
        throw new Error(`${label}: the keyset page is not an album index range scan: ${detail}`)
      }
    },
    close: async () => {
      db.close()
      await darkroom.close()
    },
  }
}

/** The album on Postgres, in a schema of its own that `close` drops. */
async function postgresListing(): Promise<ListingDb> {
  const seeded = await seedAlbumPostgres(POSTGRES_URL, PHOTOS)
  const { pool, schema } = seeded
  return {
    name: 'Postgres',
    darkroom: seeded.darkroom,
    albumId: seeded.albumId,
    one: async <T>(sql: string, parameters: readonly unknown[]) =>
      (await pool.query(sql, [...parameters])).rows[0] as T,
    recordSql: (run) =>
      recordSql(
        'postgres',
        new PostgresDialect({
          pool: new pg.Pool({
            connectionString: POSTGRES_URL,
            max: 1,
            options: `-c search_path=${schema}`,
          }),
        }),
        run,
      ),
    checkPlan: async ({ sql, parameters }, label) => {
      const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, [...parameters])
      const plan = rows.map((r) => r['QUERY PLAN'].trim())
      console.log(`plan (${label}): ${plan.join('; ')}`)
      // The album's index, or the owner's by the same sort when the album holds all of the
      // owner's photos (as here): the planner may take either, both a range scan without a sort.
      const scan = plan.some((line) =>
        /Index (Only )?Scan using photos_owner_\w+ on photos/.test(line),
      )
      if (!scan || plan.some((line) => /\bSort\b/.test(line))) {
        throw new Error(`${label}: the keyset page is not an album index range scan: ${plan}`)
      }
    },
    close: seeded.drop,
  }
}

/** The first query a store built on `dialect` runs for `run`. */
async function recordSql(
  dialect: 'sqlite' | 'postgres',
  kyselyDialect: Dialect,
  run: (store: KyselyMetadataStore) => Promise<unknown>,
): Promise<CompiledQuery> {
  const queries: CompiledQuery[] = []
  const store = new KyselyMetadataStore({
    db: new Kysely<Database>({
      dialect: kyselyDialect,
      plugins: [new CamelCasePlugin()],
      log: (event) => void queries.push(event.query),
    }),
    dialect,
  })
  await run(store)
  await store.close()
  return queries[0]!
}

/**
 * The cursor a client holds after reading `at` rows: the row at index `at - 1` in the listing's
 * order, found by SQL, encoded as `photos.list` encodes its last row (sort value, id, and the
 * first page's total). The stored sort columns are the sort values (`taken_sort` is
 * `takenSortKey`).
 */
async function cursorAt(
  store: ListingDb,
  sort: PhotoSort,
  at: number,
  total: number,
): Promise<string> {
  const column = SORT_SQL[sort]!
  const row = await store.one<{ value: string; id: string }>(
    `SELECT ${column} AS value, id FROM photos WHERE owner_id = $1 AND album_key = $2
     AND pending = false AND deleted_at IS NULL ORDER BY ${column}, id LIMIT 1 OFFSET $3`,
    [me.ownerId, store.albumId, at - 1],
  )
  return encodeCursor(sort, 'asc', row, total)
}

/** Runs `cases` round-robin `repeat` times, after a warm-up round unless told; ms per case. */
async function samples(
  cases: (() => Promise<unknown>)[],
  repeat: number,
  warmUp = true,
): Promise<number[][]> {
  if (warmUp) for (const fn of cases) await fn()
  const times = cases.map(() => [] as number[])
  for (let r = 0; r < repeat; r++) {
    for (const [i, fn] of cases.entries()) {
      const start = performance.now()
      await fn()
      times[i]!.push(performance.now() - start)
    }
  }
  return times
}

/** Mean CPU time of `fn` in ms, user + system, over `repeat` runs. */
async function cpuPerRun(fn: () => Promise<unknown>, repeat: number): Promise<number> {
  const start = process.cpuUsage()
  for (let r = 0; r < repeat; r++) await fn()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000 / repeat
}

function ids(items: { id: string }[]) {
  return items.map((p) => p.id)
}
