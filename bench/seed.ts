import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { generateNKeysBetween } from 'fractional-indexing'
import { v7 as uuidv7 } from 'uuid'
import { createDarkroom, type Caller, type Darkroom } from '@darkroom/core'
import { makeJpeg } from '@darkroom/core/testing'
import { createFsBlobStore, createSqliteStore } from '@darkroom/storage'

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
