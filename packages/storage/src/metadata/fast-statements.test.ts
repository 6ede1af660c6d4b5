import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { afterAll, expect, it } from 'vitest'
import { fastStatements } from './fast-statements.js'

const dir = mkdtempSync(join(tmpdir(), 'darkroom-statements-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function open() {
  const filename = join(dir, `${Math.random()}.db`)
  const plain = new BetterSqlite3(filename)
  plain.exec(`create table t (a integer, b text, c blob); insert into t values (1, 'x', null)`)
  return { filename, plain, fast: fastStatements(new BetterSqlite3(filename)) }
}

it('builds the same rows as better-sqlite3, repeated names included', () => {
  const { plain, fast } = open()
  for (const sql of ['select * from t', 'select a, b as a, c from t', 'select \'q"\' as "w\'"']) {
    expect(fast.prepare(sql).all([])).toEqual(plain.prepare(sql).all())
    expect([...fast.prepare(sql).iterate([])]).toEqual(plain.prepare(sql).all())
  }
  expect(fast.prepare('insert into t (a) values (?)').run([2])).toMatchObject({ changes: 1 })
  expect(fast.prepare('insert into t (a) values (?) returning a').all([3])).toEqual([{ a: 3 }])
  fast.close()
  plain.close()
})

it('hands out the same statement for the same SQL, and a fresh one after a schema change', () => {
  const { plain, fast } = open()
  const first = fast.prepare('select * from t')
  expect(fast.prepare('select * from t')).toBe(first)
  plain.exec('alter table t add column d text') // another connection changes the schema
  const rows = fast.prepare('select * from t').all([])
  expect(rows).toEqual([{ a: 1, b: 'x', c: null, d: null }])
  fast.close()
  plain.close()
})
