import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'
import { generateNKeysBetween } from 'fractional-indexing'
import { v7 as uuidv7 } from 'uuid'
import { createDarkroom, type Caller, type Darkroom } from '@darkroom/core'
import { makeJpeg } from '@darkroom/core/testing'
import { createFsBlobStore, createSqliteStore } from '@darkroom/storage'
import { createPostgresStore } from '@darkroom/storage/postgres'

export const benchCaller: Caller = { ownerId: 'bench', scopes: ['photos.read', 'photos.write'] }

/**
 * An album of `count` photos on SQLite in `dir`, fast: one real photo goes through the engine
 * (a complete row, real blobs), the rest are copies of its row with their own id, filename,
 * capture time, checksum and position (real fractional keys, in order), written with
 * better-sqlite3 in one transaction. The copies share the template's blobs.
 *
 * A bulk load: the photos' indexes are dropped first and created again from their own SQL
 * afterwards (sorting once beats a million random B-tree inserts into a 2 MB cache), so the
 * schema ends exactly as migrated. The `photo_counts` triggers stay: the album's count is
 * kept by the same path as in production.
 */
export async function seedAlbum(
  dir: string,
  count: number,
  options: { analyze?: boolean } = {},
): Promise<{ darkroom: Darkroom; albumId: string; filename: string; ids: string[] }> {
  const filename = join(dir, 'db.sqlite')
  const darkroom = await createDarkroom({
    store: createSqliteStore({ filename }),
    blobs: createFsBlobStore({ root: join(dir, 'blobs') }),
  })
  const album = await darkroom.albums.create(benchCaller, { title: `${count} photos` })
  const { uploaded } = await darkroom.photos.upload(benchCaller, {
    albumId: album.id,
    files: [{ filename: 'template.jpg', data: await makeJpeg({ width: 64, height: 48 }) }],
  })
  const templateId = uploaded[0]!.id
  const db = new BetterSqlite3(filename)
  db.pragma('journal_mode = WAL')
  const template = db.prepare('SELECT * FROM photos WHERE id = ?').get(templateId) as Record<
    string,
    unknown
  >
  const columns = Object.keys(template)
  const insert = db.prepare(
    `INSERT INTO photos (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`,
  )
  const started = performance.now()
  const indexes = db
    .prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'photos' AND sql IS NOT NULL",
    )
    .all() as { name: string; sql: string }[]
  for (const { name } of indexes) db.exec(`DROP INDEX ${name}`)
  const positions = generateNKeysBetween(String(template.position), null, count - 1)
  const base = Date.parse('2015-01-01T00:00:00Z')
  const ids = [templateId]
  db.transaction(() => {
    for (let i = 0; i < count - 1; i++) {
      // A deterministic shuffle, so the sorts visit the rows in different orders.
      const taken = new Date(base + ((i * 7919) % count) * 60_000).toISOString().slice(0, 19)
      const id = uuidv7()
      ids.push(id)
      insert.run({
        ...template,
        id,
        filename: `IMG_${String((i * 104_729) % count).padStart(7, '0')}.jpg`,
        filename_search: `img_${i}.jpg`,
        checksum: `${i}`.padStart(64, '0'),
        position: positions[i],
        taken_at: taken,
        taken_sort: taken,
      })
    }
  })()
  db.pragma('cache_size = -262144') // 256 MB for the sorts of CREATE INDEX
  for (const { sql } of indexes) db.exec(sql)
  db.pragma('wal_checkpoint(TRUNCATE)')
  // Sampled statistics (what `PRAGMA optimize` gathers): seconds instead of a full scan of
  // every index at a million rows, and the plans are the same.
  if (options.analyze) db.exec('PRAGMA analysis_limit = 1000; ANALYZE')
  db.close()
  console.log(`seeded ${count} photos in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return { darkroom, albumId: album.id, filename, ids }
}

/**
 * The same album on Postgres, in a fresh schema of `connectionString`'s database: one real photo
 * through the engine, then copies of its row inserted server-side in batches (`INSERT ... SELECT`
 * from the template joined with `unnest` of the per-row values), with the photos' secondary
 * indexes dropped first and built again from their own definitions. `drop` removes the schema.
 */
export async function seedAlbumPostgres(
  connectionString: string,
  count: number,
): Promise<{
  darkroom: Darkroom
  albumId: string
  schema: string
  pool: pg.Pool
  drop: () => Promise<void>
}> {
  const schema = `bench_${randomBytes(6).toString('hex')}`
  const admin = new pg.Pool({ connectionString, max: 1 })
  await admin.query(`create schema ${schema}`)
  // Raw SQL beside the store's own pool (seeding, cursors, plans).
  const pool = new pg.Pool({ connectionString, max: 1, options: `-c search_path=${schema}` })
  const blobsDir = await mkdtemp(join(tmpdir(), 'darkroom-bench-pg-'))
  const darkroom = await createDarkroom({
    store: createPostgresStore({ connectionString, schema, poolConfig: { max: 2 } }),
    blobs: createFsBlobStore({ root: blobsDir }),
  })
  const album = await darkroom.albums.create(benchCaller, { title: `${count} photos` })
  const { uploaded } = await darkroom.photos.upload(benchCaller, {
    albumId: album.id,
    files: [{ filename: 'template.jpg', data: await makeJpeg({ width: 64, height: 48 }) }],
  })
  const templateId = uploaded[0]!.id
  const started = performance.now()
  const { rows: template } = await pool.query<{ position: string }>(
    'select position from photos where id = $1',
    [templateId],
  )
  const { rows: indexes } = await pool.query<{ indexname: string; indexdef: string }>(
    `select indexname, indexdef from pg_indexes where schemaname = $1 and tablename = 'photos'
     and indexname not in (select conname from pg_constraint where contype in ('p', 'u'))`,
    [schema],
  )
  for (const { indexname } of indexes) await pool.query(`drop index ${schema}.${indexname}`)
  const { rows: columns } = await pool.query<{ column_name: string }>(
    `select column_name from information_schema.columns where table_schema = $1
     and table_name = 'photos' order by ordinal_position`,
    [schema],
  )
  const own = [
    'id',
    'filename',
    'filename_search',
    'checksum',
    'position',
    'taken_at',
    'taken_sort',
  ]
  const names = columns.map((c) => c.column_name)
  const select = names.map((c) => (own.includes(c) ? `u.${c}` : `t.${c}`)).join(', ')
  const insert = `insert into photos (${names.join(', ')}) select ${select} from photos t,
    unnest(${own.map((_, i) => `$${i + 2}::text[]`).join(', ')}) as u(${own.join(', ')})
    where t.id = $1`
  const positions = generateNKeysBetween(template[0]!.position, null, count - 1)
  const base = Date.parse('2015-01-01T00:00:00Z')
  const BATCH = 20_000
  for (let from = 0; from < count - 1; from += BATCH) {
    const values: string[][] = own.map(() => [])
    for (let i = from; i < Math.min(count - 1, from + BATCH); i++) {
      const taken = new Date(base + ((i * 7919) % count) * 60_000).toISOString().slice(0, 19)
      const row = [
        uuidv7(),
        `IMG_${String((i * 104_729) % count).padStart(7, '0')}.jpg`,
        `img_${i}.jpg`,
        `${i}`.padStart(64, '0'),
        positions[i]!,
        taken,
        taken,
      ]
      row.forEach((value, c) => values[c]!.push(value))
    }
    await pool.query(insert, [templateId, ...values])
  }
  await pool.query("set maintenance_work_mem = '256MB'")
  for (const { indexdef } of indexes) await pool.query(indexdef)
  await pool.query('analyze')
  console.log(
    `seeded ${count} photos on Postgres in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  )
  return {
    darkroom,
    albumId: album.id,
    schema,
    pool,
    drop: async () => {
      await darkroom.close()
      await pool.end().catch(() => undefined)
      await admin.query(`drop schema ${schema} cascade`)
      await admin.end()
      await rm(blobsDir, { recursive: true, force: true })
    },
  }
}
