import type BetterSqlite3 from 'better-sqlite3'
import type { SqliteDatabase, SqliteStatement } from 'kysely'

/**
 * The better-sqlite3 database as kysely's SQLite driver sees it, made cheaper per query for
 * listings (issue 6: a page of 50 photos should cost well under a millisecond):
 *
 * - Statements are cached by SQL text, most recently used first, at most `size` of them
 *   (`in (?, ?, ...)` lists make many distinct texts): kysely prepares every query afresh.
 * - Rows are read as arrays and turned into objects by a function generated per statement
 *   (`{ "id": r[0], ... }`), which builds one fixed-shape object; better-sqlite3 sets each
 *   column as a property from C++, which was 40% of a page of 50 rows of 34 columns. The
 *   objects are the same: the same keys in the same order, a repeated name keeps the last.
 *
 * Safe because kysely uses the one connection behind a mutex (a statement is never run while
 * another use of it is still iterating). A schema change, by this process or another, makes
 * SQLite recompile a statement as it runs, possibly with other columns: `all` reads
 * `PRAGMA schema_version` around each run and rebuilds the row builder from the statement's
 * columns when it moved.
 */
export function fastStatements(database: BetterSqlite3.Database, size = 256): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>()
  const schemaVersion = database.prepare('pragma schema_version').pluck()
  const version = () => schemaVersion.get() as number
  return {
    prepare(sql) {
      let statement = cache.get(sql)
      if (statement) {
        cache.delete(sql)
      } else {
        statement = withRowBuilder(database.prepare(sql), version)
        if (cache.size >= size) cache.delete(cache.keys().next().value!)
      }
      cache.set(sql, statement)
      return statement
    },
    close() {
      cache.clear()
      database.close()
    },
  }
}

type RowBuilder = (row: unknown[]) => unknown

function withRowBuilder(
  statement: BetterSqlite3.Statement<unknown[]>,
  version: () => number,
): SqliteStatement {
  if (!statement.reader) return statement
  statement.raw(true)
  let build = rowBuilder(statement)
  let builtAt: number | undefined = version()
  return {
    reader: true,
    all(parameters) {
      const before = version()
      const rows = statement.all(parameters) as unknown[][]
      const after = version()
      // The columns now are those these rows were read with; if the schema moved during the
      // run, it may move again before the next: build afresh then too.
      if (before !== builtAt || after !== before) {
        build = rowBuilder(statement)
        builtAt = after === before ? after : undefined
      }
      return rows.map(build)
    },
    run: (parameters) => statement.run(parameters),
    // Rare (kysely's `stream()`), and no pragma can run while it is open: build from the
    // columns once the first row is read.
    *iterate(parameters) {
      let buildHere: RowBuilder | undefined
      for (const row of statement.iterate(parameters) as IterableIterator<unknown[]>) {
        buildHere ??= rowBuilder(statement)
        yield buildHere(row)
      }
    },
  }
}

function rowBuilder(statement: BetterSqlite3.Statement<unknown[]>): RowBuilder {
  const fields = statement
    .columns()
    .map((column, i) => `${JSON.stringify(column.name)}: r[${i}]`)
    .join(', ')
  return new Function('r', `return { ${fields} }`) as RowBuilder
}
