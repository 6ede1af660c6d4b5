import { randomUUID } from 'node:crypto'
import { createDarkroom, DarkroomError } from '@darkroom/core'
import {
  makeAlbumRecord,
  makeCaller,
  makeJpeg,
  makePhotoRecord,
  MemoryBlobStore,
} from '@darkroom/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { KyselyServerStore } from '../server/kysely-server-store.js'
import { describeMetadataStoreContract } from '../testing/metadata-store.contract.js'
import { describeServerStoreContract } from '../testing/server-store.contract.js'
import type { KyselyMetadataStore } from './kysely-metadata-store.js'
import { createPostgresStore } from './postgres.js'
import { admin, POSTGRES_URL, postgresUnreachable } from './postgres.test-support.js'

/**
 * Runs against `DATABASE_URL` (default: a local trust-auth server), in a schema of this file's
 * own, dropped at the end: parallel files and reruns never meet. Skips when nothing answers.
 */
const url = POSTGRES_URL
const schema = `dr_${randomUUID().replaceAll('-', '').slice(0, 20)}`

const unreachable = await postgresUnreachable()
const where = url.replace(/\/\/[^@/]*@/, '//')
if (unreachable) console.warn(`Postgres tests skipped: ${where} is unreachable (${unreachable}).`)

const open = () => createPostgresStore({ connectionString: url, schema })

describe.skipIf(unreachable !== null)(`Postgres at ${where}`, () => {
  beforeAll(async () => {
    await admin((c) => c.query(`create schema ${schema}`))
  })
  afterAll(async () => {
    await admin((c) => c.query(`drop schema if exists ${schema} cascade`))
  })

  describeMetadataStoreContract({
    name: 'KyselyMetadataStore on Postgres',
    create: open,
    cleanup: (store) => store.close(),
  })

  const owners = new Map<KyselyServerStore, KyselyMetadataStore>()
  describeServerStoreContract({
    name: 'KyselyServerStore on Postgres',
    create: async () => {
      const store = open()
      await store.migrate()
      owners.set(store.server, store)
      return store.server
    },
    cleanup: async (server) => {
      await owners.get(server)?.close()
      owners.delete(server)
    },
  })

  describe('Postgres specifics', () => {
    const stores: KyselyMetadataStore[] = []
    const migrated = async () => {
      const store = open()
      stores.push(store)
      await store.migrate()
      return store
    }
    afterAll(async () => {
      for (const store of stores) await store.close()
    })

    it('works in its own schema, and returns int8 columns as numbers', async () => {
      const store = await migrated()
      const photo = makePhotoRecord({ size: 2 ** 40 })
      await store.insertPhoto(photo)
      const got = await store.getPhoto(photo.id)
      expect(got).toEqual(photo)
      const tables = await admin((c) =>
        c.query<{ n: string }>(
          "select count(*) as n from information_schema.tables where table_schema = $1 and table_name = 'photos'",
          [schema],
        ),
      )
      expect(tables.rows[0]?.n).toBe('1')
      expect(await store.sumOwnerBytes(photo.ownerId)).toBe(2 ** 40)
    })

    it('maps unique violations to CONFLICT with the pg error as cause', async () => {
      const store = await migrated()
      const photo = makePhotoRecord()
      await store.insertPhoto(photo)
      const err = await store.insertPhoto({ ...photo, id: 'another' }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(DarkroomError)
      expect(err).toMatchObject({ code: 'CONFLICT', cause: { code: '23505' } })
    })

    it('serialises lockAlbum + count + insert across two pools: never over the cap', async () => {
      const [a, b] = [await migrated(), await migrated()]
      const album = makeAlbumRecord({ ownerId: `owner-${randomUUID()}`, photoCap: 5 })
      await a.insertAlbum(album)
      const attempt = (store: KyselyMetadataStore) =>
        store.transaction(async (tx) => {
          const locked = await tx.lockAlbum(album.id)
          const count = await tx.countAlbumPhotos(album.id)
          if (count >= (locked?.photoCap ?? 0)) return false
          await new Promise((resolve) => setTimeout(resolve, 5)) // widen the race window
          await tx.insertPhoto(makePhotoRecord({ ownerId: album.ownerId, albumId: album.id }))
          return true
        })
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => attempt(i % 2 === 0 ? a : b)),
      )
      expect(results.filter(Boolean)).toHaveLength(5)
      expect(await b.countAlbumPhotos(album.id)).toBe(5)
    })

    it('reruns a transaction Postgres aborts as a deadlock victim: both writers complete', async () => {
      const [a, b] = [await migrated(), await migrated()]
      const ownerId = `owner-${randomUUID()}`
      const [one, two] = [makeAlbumRecord({ ownerId }), makeAlbumRecord({ ownerId })]
      await a.insertAlbum(one)
      await a.insertAlbum(two)
      // Each takes its first lock, waits until the other holds its own, then asks for the other's.
      const holding = { a: false, b: false }
      const runs = { a: 0, b: 0 }
      const crossing = (store: KyselyMetadataStore, me: 'a' | 'b', first: string, then: string) =>
        store.transaction(async (tx) => {
          runs[me]++
          await tx.lockAlbum(first)
          holding[me] = true
          const other = me === 'a' ? 'b' : 'a'
          for (let i = 0; i < 200 && runs[me] === 1 && !holding[other]; i++) {
            await new Promise((resolve) => setTimeout(resolve, 5))
          }
          await tx.lockAlbum(then)
          return me
        })
      const done = await Promise.all([
        crossing(a, 'a', one.id, two.id),
        crossing(b, 'b', two.id, one.id),
      ])
      expect(done).toEqual(['a', 'b'])
      // One of them was the victim and ran twice.
      expect(runs.a + runs.b).toBe(3)
    })

    it('keeps photoCap under two darkrooms uploading at once over two pools', async () => {
      const blobs = new MemoryBlobStore()
      const [one, two] = await Promise.all(
        [open(), open()].map((store) => createDarkroom({ store, blobs })),
      )
      try {
        const alice = makeCaller(`alice-${randomUUID()}`)
        const album = await one!.albums.create(alice, { title: 'Race', photoCap: 5 })
        const batch = async (darkroom: typeof one, offset: number) =>
          darkroom!.photos.upload(alice, {
            albumId: album.id,
            files: await Promise.all(
              [0, 1, 2, 3].map(async (i) => ({
                filename: `${offset + i}.jpg`,
                data: await makeJpeg({ width: 32, height: 32, seed: offset + i }),
              })),
            ),
          })
        const [x, y] = await Promise.all([batch(one, 0), batch(two, 100)])
        const uploaded = x.uploaded.length + y.uploaded.length
        expect(uploaded).toBeLessThanOrEqual(5)
        expect(uploaded).toBe(5)
        expect((await two!.albums.get(alice, { id: album.id })).photoCount).toBe(5)
      } finally {
        await one!.close()
        await two!.close()
      }
    })

    it('refuses a missing connection string and a schema that is not an identifier', () => {
      expect(() => createPostgresStore({})).toThrow(/connectionString/)
      expect(() => createPostgresStore({ connectionString: url, schema: 'a;b' })).toThrow(/schema/)
    })

    it('migrates a second schema of the same database (its own migration tables, not the first one`s)', async () => {
      // This file's schema migrated (again: migrating is idempotent), another Darkroom beside it.
      const first = open()
      await first.migrate()
      await first.close()
      const other = `${schema}_b`
      await admin((c) => c.query(`create schema ${other}`))
      const store = createPostgresStore({ connectionString: url, schema: other })
      try {
        await store.migrate()
        await store.migrate()
        const tables = await admin((c) =>
          c.query<{ table_name: string }>(
            `select table_name from information_schema.tables where table_schema = $1
             and table_name like 'darkroom_migration%' order by table_name`,
            [other],
          ),
        )
        expect(tables.rows.map((r) => r.table_name)).toEqual([
          'darkroom_migration',
          'darkroom_migration_lock',
        ])
      } finally {
        await store.close()
        await admin((c) => c.query(`drop schema ${other} cascade`))
      }
    })
  })
})
