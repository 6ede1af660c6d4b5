import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { makePhotoRecord } from '@darkroom/core/testing'
import type { MetadataStore } from '@darkroom/core'
import { afterAll, describe, expect, it } from 'vitest'
import { describeMetadataStoreContract } from '../testing/metadata-store.contract.js'
import { metadataMigrations, MIGRATION_TABLE } from './migrations/index.js'
import { createSqliteStore } from './sqlite.js'

const dir = mkdtempSync(join(tmpdir(), 'darkroom-sqlite-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
const freshFile = () => join(dir, `nested/${++n}/darkroom.db`)

describeMetadataStoreContract({
  name: 'KyselyMetadataStore on SQLite',
  create: () => createSqliteStore({ filename: freshFile() }),
  cleanup: (store) => store.close(),
})

describe('SQLite specifics', () => {
  const open = async (filename = freshFile()) => {
    const store = createSqliteStore({ filename })
    await store.migrate()
    return { store, filename }
  }
  const pragma = (filename: string, name: string) => {
    const db = new BetterSqlite3(filename, { readonly: true })
    try {
      return db.pragma(name, { simple: true })
    } finally {
      db.close()
    }
  }

  it('creates the parent folders and uses WAL', async () => {
    const { store, filename } = await open()
    expect(pragma(filename, 'journal_mode')).toBe('wal')
    await store.close()
  })

  it('enforces foreign keys: deleting a photo cascades to its reactions', async () => {
    const { store, filename } = await open()
    const photo = makePhotoRecord()
    await store.insertPhoto(photo)
    await store.setLike(photo.id, 'u1', true)
    await store.setRating(photo.id, 'u1', 5)
    await store.deletePhoto(photo.id)
    await store.close()
    const db = new BetterSqlite3(filename, { readonly: true })
    const count = (table: string) =>
      (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n
    expect([count('photo_likes'), count('photo_ratings')]).toEqual([0, 0])
    db.close()
  })

  it('runs each migration once, across reopenings', async () => {
    const { store, filename } = await open()
    const photo = makePhotoRecord()
    await store.insertPhoto(photo)
    await store.migrate()
    await store.close()
    const again = await open(filename)
    await again.store.migrate()
    expect(await again.store.getPhoto(photo.id)).toEqual(photo)
    await again.store.close()
    const db = new BetterSqlite3(filename, { readonly: true })
    const names = db.prepare(`select name from ${MIGRATION_TABLE} order by name`).all()
    db.close()
    expect(names).toEqual(metadataMigrations.map((m) => ({ name: m.name })))
  })

  it('stores what the sorts need: taken_sort, rating_avg, album_key', async () => {
    const { store, filename } = await open()
    const photo = makePhotoRecord({ takenAt: '2020-02-02T10:11:12-03:00', ratingSum: 7 })
    await store.insertPhoto({ ...photo, ratingCount: 2 })
    await store.incrementPhotoCounters(photo.id, { ratingSum: 3, ratingCount: 1 })
    await store.close()
    const db = new BetterSqlite3(filename, { readonly: true })
    const row = db
      .prepare('select taken_sort, rating_avg, album_key from photos where id = ?')
      .get(photo.id)
    db.close()
    expect(row).toEqual({ taken_sort: '2020-02-02T10:11:12', rating_avg: 10 / 3, album_key: '' })
  })

  it('begins transactions IMMEDIATE: a second connection cannot write meanwhile', async () => {
    const { store, filename } = await open()
    const other = new BetterSqlite3(filename, { timeout: 0 })
    let otherError: unknown
    await store.transaction(async (tx) => {
      await tx.getOwner('nobody') // a read only: a deferred transaction would hold no lock yet
      try {
        other.prepare("insert into owners (owner_id) values ('x')").run()
      } catch (error) {
        otherError = error
      }
    })
    other.close()
    await store.close()
    expect(otherError).toMatchObject({ code: 'SQLITE_BUSY' })
  })

  it('maps unique violations to CONFLICT with the SQLite error as cause', async () => {
    const { store } = await open()
    const photo = makePhotoRecord()
    await store.insertPhoto(photo)
    const err = await store.insertPhoto({ ...photo, id: 'another' }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'CONFLICT', cause: { code: 'SQLITE_CONSTRAINT_UNIQUE' } })
    await store.close()
  })

  it('works in memory too', async () => {
    const store: MetadataStore = createSqliteStore({ filename: ':memory:' })
    await store.migrate()
    const photo = makePhotoRecord()
    await store.insertPhoto(photo)
    expect(await store.getPhoto(photo.id)).toEqual(photo)
    await store.close()
  })

  it('refuses a missing filename, naming it', () => {
    expect(() => createSqliteStore({ filename: '' })).toThrow(/filename/)
  })
})
