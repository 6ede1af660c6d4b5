import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { printTable, size, stats, writeJson, type Row } from './lib.js'
import { benchCaller, seedAlbum } from './seed.js'

/**
 * Reorder: MOVES (default 10,000) random `photos.reorder` calls (before or after a random
 * photo) in an album of PHOTOS (default 100,000) on SQLite. Reports the latency, the rows of
 * `photos` written per move (counted by a trigger, so it is what SQLite really wrote) and the
 * longest position key afterwards. The baseline in the same run is the classic approach it
 * replaces: renumbering an integer `sort_order` column from the insertion point (measured on a
 * copy of the album in a plain table with better-sqlite3, without the engine around it).
 */
const PHOTOS = size('PHOTOS', 100_000, 1_000)
const MOVES = size('MOVES', 10_000, 100)

function prng(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export async function run(): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'darkroom-bench-reorder-'))
  const rows: Row[] = []
  try {
    const { darkroom, filename, ids } = await seedAlbum(dir, PHOTOS)
    const counter = new BetterSqlite3(filename)
    counter.exec(`CREATE TABLE bench_writes (n INTEGER NOT NULL);
      INSERT INTO bench_writes VALUES (0);
      CREATE TRIGGER bench_count_updates AFTER UPDATE ON photos
      BEGIN UPDATE bench_writes SET n = n + 1; END;`)
    const writes = () => (counter.prepare('SELECT n FROM bench_writes').get() as { n: number }).n

    const random = prng(42)
    const pick = () => ids[Math.floor(random() * ids.length)]!
    const latencies: number[] = []
    const before = writes()
    for (let i = 0; i < MOVES; i++) {
      const id = pick()
      let anchor = pick()
      while (anchor === id) anchor = pick()
      const start = performance.now()
      await darkroom.photos.reorder(
        benchCaller,
        random() < 0.5 ? { id, before: anchor } : { id, after: anchor },
      )
      latencies.push(performance.now() - start)
    }
    const written = writes() - before
    const longest = counter
      .prepare('SELECT max(length(position)) AS n, avg(length(position)) AS avg FROM photos')
      .get() as { n: number; avg: number }
    counter.close()
    await darkroom.close()

    // Baseline: an integer sort order, renumbered from the insertion point on each move.
    const plain = new BetterSqlite3(join(dir, 'plain.sqlite'))
    plain.pragma('journal_mode = WAL')
    plain.pragma('synchronous = NORMAL')
    plain.exec(`CREATE TABLE photos (id TEXT PRIMARY KEY, sort_order INTEGER NOT NULL);
      CREATE INDEX photos_sort ON photos (sort_order);`)
    const add = plain.prepare('INSERT INTO photos VALUES (?, ?)')
    plain.transaction(() => ids.forEach((id, i) => add.run(id, i)))()
    const orderOf = plain.prepare('SELECT sort_order AS o FROM photos WHERE id = ?')
    const shiftUp = plain.prepare(
      'UPDATE photos SET sort_order = sort_order + 1 WHERE sort_order >= ? AND sort_order < ?',
    )
    const shiftDown = plain.prepare(
      'UPDATE photos SET sort_order = sort_order - 1 WHERE sort_order > ? AND sort_order <= ?',
    )
    const place = plain.prepare('UPDATE photos SET sort_order = ? WHERE id = ?')
    const move = plain.transaction((id: string, anchor: string) => {
      const from = (orderOf.get(id) as { o: number }).o
      const to = (orderOf.get(anchor) as { o: number }).o
      const changes = to < from ? shiftUp.run(to, from).changes : shiftDown.run(from, to).changes
      place.run(to, id)
      return changes + 1
    })
    const baseMoves = Math.min(MOVES, 1000)
    const baseRandom = prng(42)
    const basePick = () => ids[Math.floor(baseRandom() * ids.length)]!
    const baseLatencies: number[] = []
    let baseWritten = 0
    for (let i = 0; i < baseMoves; i++) {
      const id = basePick()
      let anchor = basePick()
      while (anchor === id) anchor = basePick()
      const start = performance.now()
      baseWritten += move(id, anchor)
      baseLatencies.push(performance.now() - start)
    }
    plain.close()

    const ours = stats(latencies, 0.99)
    const base = stats(baseLatencies, 0.99)
    const conditions = `album of ${PHOTOS}, SQLite WAL; max = p99`
    rows.push({
      name: 'renumbering sort_order (baseline)',
      unit: 'ms/move',
      ...base,
      conditions: `${conditions}, ${baseMoves} moves, ${(baseWritten / baseMoves).toFixed(0)} rows written per move`,
    })
    rows.push({
      name: 'photos.reorder (fractional key)',
      unit: 'ms/move',
      ...ours,
      ratio: ours.median / base.median,
      conditions: `${conditions}, ${MOVES} moves, ${(written / MOVES).toFixed(2)} rows written per move, longest key ${longest.n} chars (mean ${longest.avg.toFixed(1)})`,
    })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  printTable('reorder: random moves (lower is better; ratio = darkroom / baseline)', rows)
  writeJson('reorder', rows)
  return rows
}
