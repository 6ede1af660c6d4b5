import { expectTypeOf } from 'vitest'
import type { DarkroomClient } from '../client.js'

/*
 * What a developer gets from `createDarkroomClient` (typed by the `AppRouter` type alone):
 * results inferred from the router, and wrong calls refused by the compiler. Never run;
 * `src/types.test.ts` type-checks this file with `tsc --noEmit -p src/type-fixtures`, and
 * checks that the same file fails when the client's types are `any` or when the
 * expect-error comments are taken away.
 */

export async function resultsAreInferred(client: DarkroomClient) {
  const photo = await client.photos.get.query({ id: 'p1' })
  expectTypeOf(photo).not.toBeAny()
  expectTypeOf(photo.width).toEqualTypeOf<number | null>()
  expectTypeOf(photo.height).toEqualTypeOf<number | null>()
  expectTypeOf(photo.takenAt).toEqualTypeOf<string | null>()
  expectTypeOf(photo.kind).toEqualTypeOf<'image' | 'video'>()
  expectTypeOf(photo.exif).toEqualTypeOf<{
    make: string | null
    model: string | null
    lens: string | null
    iso: number | null
    exposure: number | null
    fNumber: number | null
    focalLength: number | null
    gps: { lat: number; lon: number } | null
  } | null>()
  expectTypeOf(photo.variants.small).toEqualTypeOf<string | null>()

  const page = await client.photos.list.query({ albumId: 'a1', sort: 'position', limit: 50 })
  expectTypeOf(page.items).items.toEqualTypeOf<typeof photo>()
  expectTypeOf(page.total).toEqualTypeOf<number>()
  expectTypeOf(page.nextCursor).toEqualTypeOf<string | null>()

  const batch = await client.photos.upload.mutate(new FormData())
  expectTypeOf(batch.uploaded).items.toHaveProperty('id').toEqualTypeOf<string>()
  type SkipReason = (typeof batch.skipped)[number]['reason']
  // A closed union of reasons (more may be added), not `string` and not `any`.
  expectTypeOf<SkipReason>().not.toBeAny()
  expectTypeOf<'duplicate' | 'invalid_type' | 'too_large' | 'cap_exceeded'>().toExtend<SkipReason>()
  expectTypeOf<string>().not.toExtend<SkipReason>()

  const upload = await client.uploads.status.query({ id: 'u1' })
  expectTypeOf(upload.state).toEqualTypeOf<'receiving' | 'processing' | 'ready' | 'failed'>()
  expectTypeOf(upload.photoId).toEqualTypeOf<string | null>()

  const albums = await client.albums.list.query()
  expectTypeOf(albums).items.toHaveProperty('photoCap').toEqualTypeOf<number | null>()

  const repair = await client.photos.repairDimensions.mutate({ onlyMissing: true })
  expectTypeOf(repair).toEqualTypeOf<{
    scanned: number
    repaired: number
    failed: number
    failures: { id: string; message: string }[]
    keptManual: number
  }>()

  const me = await client.owners.me.query()
  expectTypeOf(me).toEqualTypeOf<{
    ownerId: string
    quotaBytes: number | null
    usedBytes: number
    profilePhotoId: string | null
  }>()
}

export async function wrongCallsDoNotCompile(client: DarkroomClient) {
  // @ts-expect-error: there is no procedure `photos.lst`
  await client.photos.lst.query()
  // @ts-expect-error: `limit` is a number, not a string
  await client.photos.list.query({ limit: '50' })
  // @ts-expect-error: a sort the router does not know
  await client.photos.list.query({ sort: 'colour' })
  // @ts-expect-error: `photos.get` needs an id
  await client.photos.get.query({})
  // @ts-expect-error: `owners.setQuota` takes no unknown keys
  await client.owners.setQuota.mutate({ ownerId: 'o1', quotaBytes: 1, quota: 2 })
  // @ts-expect-error: a query has no `mutate`
  await client.photos.get.mutate({ id: 'p1' })
  const photo = await client.photos.get.query({ id: 'p1' })
  // @ts-expect-error: `width` may be null, so it is not a number
  const width: number = photo.width
  // @ts-expect-error: a misspelled field of the result
  return [width, photo.widht]
}
