import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Caller, PhotoSort } from '@darkroom/core'
import { printTable, writeJson, type Row } from './lib.js'
import { seedAlbum } from './seed.js'

/**
 * Listing: one album of PHOTOS (default 1,000,000) photos on SQLite, pages of 50 through
 * `darkroom.photos.list` (the whole service path: validation, query, row → Photo) sorted by
 * position, taken date and filename. Keyset pages at the start, the middle and the end of the
 * album, against OFFSET pages at the same places (the same run's baseline), and the first page,
 * which also counts the album (later keyset pages carry that count in the cursor).
 */
const PHOTOS = Number(process.env.PHOTOS ?? 1_000_000)
const REPEAT = Number(process.env.REPEAT ?? 200)
const me: Caller = { ownerId: 'bench', scopes: ['photos.read', 'photos.write'] }

function percentile(values: number[], p: number) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

async function time(fn: () => Promise<unknown>) {
  const values: number[] = []
  for (let i = 0; i < REPEAT; i++) {
    const start = performance.now()
    await fn()
    values.push(performance.now() - start)
  }
  return {
    median: percentile(values, 0.5),
    min: Math.min(...values),
    max: percentile(values, 0.99),
  }
}

export async function run(): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'darkroom-bench-list-'))
  const rows: Row[] = []
  try {
    const { darkroom, albumId } = await seedAlbum(dir, PHOTOS, { analyze: true })
    const conditions = `${PHOTOS} photos in one album, SQLite WAL, limit 50, ${REPEAT} runs; max = p99`
    for (const sort of ['position', 'taken', 'filename'] as PhotoSort[]) {
      const list = (extra: { cursor?: string; offset?: number }) =>
        darkroom.photos.list(me, { albumId, sort, order: 'asc', limit: 50, ...extra })
      // Cursors at the start, the middle and the end: walked once with the real API (large
      // pages), so the cursors are exactly what a client would hold.
      const cursors = new Map<number, string>()
      const step = 200
      const marks = [
        step,
        Math.floor(PHOTOS / 2 / step) * step,
        Math.floor((PHOTOS - 1) / step) * step,
      ]
      let cursor: string | undefined
      let seen = 0
      while (cursors.size < marks.length) {
        const page = await darkroom.photos.list(me, {
          albumId,
          sort,
          order: 'asc',
          limit: step,
          ...(cursor ? { cursor } : {}),
        })
        seen += page.items.length
        cursor = page.nextCursor ?? undefined
        if (!cursor) break
        if (marks.includes(seen)) cursors.set(seen, cursor)
      }
      const first = await time(() => list({}))
      rows.push({ name: `${sort}: first page (counts)`, unit: 'ms', ...first, conditions })
      let firstKeyset = 0
      for (const at of marks) {
        const keyset = await time(() => list({ cursor: cursors.get(at)! }))
        if (at === marks[0]) firstKeyset = keyset.median
        rows.push({
          name: `${sort}: keyset page after row ${at}`,
          unit: 'ms',
          ...keyset,
          ratio: keyset.median / firstKeyset,
          conditions: `${conditions}; ratio = this / keyset page after row ${marks[0]}`,
        })
        const offset = await time(() => list({ offset: at }))
        rows.push({
          name: `${sort}: OFFSET ${at} (baseline)`,
          unit: 'ms',
          ...offset,
          ratio: offset.median / keyset.median,
          conditions: `${conditions}; ratio = OFFSET / keyset at the same row`,
        })
      }
    }
    await darkroom.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  printTable('listing: one page of 50 (lower is better)', rows)
  writeJson('listing', rows)
  return rows
}
