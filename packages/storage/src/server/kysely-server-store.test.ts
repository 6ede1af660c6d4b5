import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import type { KyselyMetadataStore } from '../metadata/kysely-metadata-store.js'
import { createSqliteStore } from '../metadata/sqlite.js'
import { describeServerStoreContract } from '../testing/server-store.contract.js'
import type { KyselyServerStore } from './kysely-server-store.js'

const dir = mkdtempSync(join(tmpdir(), 'darkroom-server-store-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
const freshFile = () => join(dir, `${++n}/darkroom.db`)
const owners = new Map<KyselyServerStore, KyselyMetadataStore>()

describeServerStoreContract({
  name: 'KyselyServerStore on SQLite',
  create: async () => {
    const store = createSqliteStore({ filename: freshFile() })
    await store.migrate()
    owners.set(store.server, store)
    return store.server
  },
  cleanup: async (server) => {
    await owners.get(server)?.close()
    owners.delete(server)
  },
})

describe('KyselyServerStore on SQLite, specifics', () => {
  it('shares the metadata store’s file: one migrate() creates every table', async () => {
    const filename = freshFile()
    const store = createSqliteStore({ filename })
    await store.migrate()
    await store.close()
    const db = new BetterSqlite3(filename, { readonly: true })
    const tables = db
      .prepare("select name from sqlite_master where type = 'table' order by name")
      .all()
      .map((r) => (r as { name: string }).name)
    const indexes = db
      .prepare("select sql from sqlite_master where type = 'index' and sql is not null")
      .all()
    db.close()
    expect(tables).toEqual(
      expect.arrayContaining(['api_keys', 'webhooks', 'webhook_deliveries', 'uploads', 'photos']),
    )
    expect(indexes.length).toBeGreaterThan(0)
  })

  it('keeps key hashes and (webhook, event) pairs unique in SQL, not only in code', async () => {
    const filename = freshFile()
    const store = createSqliteStore({ filename })
    await store.migrate()
    await store.close()
    const db = new BetterSqlite3(filename)
    const insertKey = db.prepare(
      "insert into api_keys (id, owner_id, name, prefix, hash, scopes, created_at) values (?, 'o', 'n', 'sk_', 'h', '[]', 0)",
    )
    insertKey.run('k1')
    expect(() => insertKey.run('k2')).toThrow(/UNIQUE/)
    db.prepare(
      "insert into webhooks (id, owner_id, url, secret, events, created_at) values ('w', 'o', 'u', 's', '[]', 0)",
    ).run()
    const insertDelivery = db.prepare(
      "insert into webhook_deliveries (id, webhook_id, event_id, event, status, next_attempt_at, created_at) values (?, 'w', 'e1', '{}', 'pending', 0, 0)",
    )
    insertDelivery.run('d1')
    expect(() => insertDelivery.run('d2')).toThrow(/UNIQUE/)
    db.close()
  })

  it('migrate() of its own brings a bare database up to date', async () => {
    const store = createSqliteStore({ filename: ':memory:' })
    await store.server.migrate()
    await store.server.saveUpload({
      id: 'u1',
      ownerId: 'o',
      state: 'receiving',
      filename: 'a.jpg',
      size: null,
      albumId: null,
      photoId: null,
      error: null,
      createdAt: new Date(0),
      updatedAt: new Date(0),
    })
    expect(await store.server.getUpload('u1')).toMatchObject({ id: 'u1' })
    await store.migrate()
    await store.close()
  })
})
