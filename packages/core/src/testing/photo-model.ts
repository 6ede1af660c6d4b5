import type { Darkroom } from '../darkroom.js'
import type { Caller } from '../domain/types.js'
import { photosOf } from './builders.js'

/**
 * A model of one owner's albums for property tests: what order `photos.list` by position must
 * show after any sequence of uploads, moves, reorders, deletes and restores. The model gives each
 * photo a number (its rank) instead of a position key; the engine's keys must sort the same way.
 *
 * It mirrors the engine's rules: a photo uploaded or moved goes after the last photo of its album
 * (trashed ones included, since they keep their place for a restore); a reorder puts it between
 * the anchor and the anchor's neighbour (trashed photos count as neighbours); a soft delete keeps
 * the rank, a restore brings the photo back there; a hard delete forgets it; moving a photo to its
 * own album changes nothing.
 *
 * Commands pick photos by index (`pick` modulo the live or trashed photos, in id order), so a
 * generator needs no knowledge of ids; a command with nothing to pick is a no-op.
 */

/** Album slots: 0 and 1 are albums made by `setup`, 2 is "no album". */
export type AlbumSlot = 0 | 1 | 2

export type PhotoCommand =
  | { kind: 'upload'; album: AlbumSlot; count: number }
  | { kind: 'move'; pick: number; album: AlbumSlot }
  | { kind: 'copy'; pick: number; album: AlbumSlot }
  | { kind: 'reorder'; pick: number; anchor: number; before: boolean }
  | { kind: 'delete'; pick: number; hard: boolean }
  | { kind: 'restore'; pick: number }

interface ModelPhoto {
  id: string
  album: AlbumSlot
  rank: number
  trashed: boolean
  /** The id of the upload whose bytes (and blobs) the photo has: its own, or its copy's source's. */
  bytes: string
}

export class PhotoModel {
  readonly #photos = new Map<string, ModelPhoto>()

  /** Live photos of a slot in list order (position asc; ties cannot happen). */
  order(album: AlbumSlot): string[] {
    return [...this.#photos.values()]
      .filter((p) => p.album === album && !p.trashed)
      .sort((a, b) => a.rank - b.rank)
      .map((p) => p.id)
  }

  live(): string[] {
    return [...this.#photos.values()]
      .filter((p) => !p.trashed)
      .map((p) => p.id)
      .sort()
  }

  trashed(): string[] {
    return [...this.#photos.values()]
      .filter((p) => p.trashed)
      .map((p) => p.id)
      .sort()
  }

  get(id: string): ModelPhoto | undefined {
    return this.#photos.get(id)
  }

  #last(album: AlbumSlot): number {
    let last = 0
    for (const p of this.#photos.values()) if (p.album === album) last = Math.max(last, p.rank)
    return last
  }

  added(id: string, album: AlbumSlot, bytes = id): void {
    this.#photos.set(id, { id, album, rank: this.#last(album) + 1, trashed: false, bytes })
  }

  /** True when the album (trash included) holds a photo of these bytes: a copy or move is `CONFLICT`. */
  clashes(bytes: string, album: AlbumSlot): boolean {
    return [...this.#photos.values()].some((p) => p.album === album && p.bytes === bytes)
  }

  moved(id: string, album: AlbumSlot): void {
    const photo = this.#photos.get(id)!
    if (photo.album === album) return
    const rank = this.#last(album) + 1
    photo.album = album
    photo.rank = rank
  }

  reordered(id: string, anchorId: string, before: boolean): void {
    const photo = this.#photos.get(id)!
    const anchor = this.#photos.get(anchorId)!
    const others = [...this.#photos.values()]
      .filter((p) => p.album === anchor.album && p.id !== id)
      .map((p) => p.rank)
    if (before) {
      const below = others.filter((r) => r < anchor.rank)
      photo.rank = below.length === 0 ? anchor.rank - 1 : (Math.max(...below) + anchor.rank) / 2
    } else {
      const above = others.filter((r) => r > anchor.rank)
      photo.rank = above.length === 0 ? anchor.rank + 1 : (Math.min(...above) + anchor.rank) / 2
    }
  }

  deleted(id: string, hard: boolean): void {
    if (hard) this.#photos.delete(id)
    else this.#photos.get(id)!.trashed = true
  }

  restored(id: string): void {
    this.#photos.get(id)!.trashed = false
  }
}

export interface ModelRun {
  darkroom: Darkroom
  caller: Caller
  /** The ids of slots 0 and 1 (from `setupModelAlbums`). */
  albums: [string, string]
  /** Unique image bytes, one per call. */
  nextImage: () => Uint8Array
}

export async function setupModelAlbums(
  darkroom: Darkroom,
  caller: Caller,
): Promise<[string, string]> {
  const a = await darkroom.albums.create(caller, { title: 'Model A' })
  const b = await darkroom.albums.create(caller, { title: 'Model B' })
  return [a.id, b.id]
}

function albumIdOf(run: ModelRun, slot: AlbumSlot): string | null {
  return slot === 2 ? null : run.albums[slot]
}

/** Applies `command` to the engine and, when it succeeds, to the model. */
export async function runPhotoCommand(
  run: ModelRun,
  model: PhotoModel,
  command: PhotoCommand,
): Promise<void> {
  const { darkroom, caller } = run
  switch (command.kind) {
    case 'upload': {
      const files = Array.from({ length: command.count }, (_, i) => ({
        filename: `m${i}.jpg`,
        data: run.nextImage(),
      }))
      const result = await darkroom.photos.upload(caller, {
        files,
        albumId: albumIdOf(run, command.album),
      })
      if (result.skipped.length > 0) {
        throw new Error(`upload skipped files: ${JSON.stringify(result.skipped)}`)
      }
      // Files are ingested one after another (concurrency 1): positions follow the batch order.
      for (const photo of [...result.uploaded].sort((a, b) => a.index - b.index)) {
        model.added(photo.id, command.album)
      }
      return
    }
    case 'move':
    case 'copy': {
      const id = pickFrom(model.live(), command.pick)
      if (!id) return
      const source = model.get(id)!
      const copy = command.kind === 'copy'
      const albumId = albumIdOf(run, command.album)
      if ((copy || source.album !== command.album) && model.clashes(source.bytes, command.album)) {
        await darkroom.photos.move(caller, { id, albumId, copy }).then(
          () => {
            throw new Error(`${command.kind} of ${id} into a clashing album succeeded`)
          },
          (error: { code?: string }) => {
            if (error.code !== 'CONFLICT') throw error
          },
        )
        return
      }
      const moved = await darkroom.photos.move(caller, { id, albumId, copy })
      if (copy) model.added(moved.id, command.album, source.bytes)
      else model.moved(id, command.album)
      return
    }
    case 'reorder': {
      const id = pickFrom(model.live(), command.pick)
      if (!id) return
      const album = model.get(id)!.album
      const peers = model.order(album).filter((other) => other !== id)
      const anchor = pickFrom(peers, command.anchor)
      if (!anchor) return
      await darkroom.photos.reorder(
        caller,
        command.before ? { id, before: anchor } : { id, after: anchor },
      )
      model.reordered(id, anchor, command.before)
      return
    }
    case 'delete': {
      const id = pickFrom(model.live(), command.pick)
      if (!id) return
      await darkroom.photos.delete(caller, { id, hard: command.hard })
      model.deleted(id, command.hard)
      return
    }
    case 'restore': {
      const id = pickFrom(model.trashed(), command.pick)
      if (!id) return
      await darkroom.photos.restore(caller, { id })
      model.restored(id)
      return
    }
  }
}

function pickFrom(ids: readonly string[], pick: number): string | undefined {
  return ids.length === 0 ? undefined : ids[pick % ids.length]
}

export interface ModelMismatch {
  album: AlbumSlot
  expected: string[]
  actual: string[]
  total: number
}

/** Where `photos.list` (sort position, asc, one page) differs from the model; empty when none. */
export async function compareWithModel(run: ModelRun, model: PhotoModel): Promise<ModelMismatch[]> {
  const mismatches: ModelMismatch[] = []
  for (const album of [0, 1, 2] as const) {
    const page = await run.darkroom.photos.list(run.caller, {
      albumId: albumIdOf(run, album),
      sort: 'position',
      order: 'asc',
      limit: 200,
    })
    const actual = page.items.map((p) => p.id)
    const expected = model.order(album)
    if (JSON.stringify(actual) !== JSON.stringify(expected) || page.total !== expected.length) {
      mismatches.push({ album, expected, actual, total: page.total })
    }
  }
  return mismatches
}

/**
 * Copies share their source's blobs: after the orphan sweep has looked at every blob (whatever
 * its age: the engine's clock and the blob store's need not agree), every live photo's original
 * and variants must still open. Returns the ids of the photos that lost one.
 */
export async function lostBlobs(run: ModelRun, model: PhotoModel): Promise<string[]> {
  const { darkroom, caller } = run
  await darkroom.maintenance.sweepOrphans({ olderThanMs: -1e12 })
  const lost: string[] = []
  for (const id of model.live()) {
    const photo = await darkroom.photos.get(caller, { id })
    const names = Object.entries(photo.variants).filter(([, url]) => url !== null)
    for (const [variant] of names) {
      try {
        const blob = await darkroom.photos.openBlob(caller, { id, variant, countDownload: false })
        blob.stream.destroy()
      } catch {
        lost.push(`${id}/${variant}`)
      }
    }
  }
  return lost
}

// ---------------------------------------------------------------- properties

/** A fresh engine for one property run (the in-memory adapters, SQLite ...). */
export interface EngineFactory {
  (): Promise<{ darkroom: Darkroom; close(): Promise<void> }>
}

export const MODEL_CALLER: Caller = {
  ownerId: 'model-owner',
  scopes: ['photos.read', 'photos.write'],
}

/** Unique images handed out in turn from a pool (the pool must outlast one run). */
export function imageFeed(pool: readonly Uint8Array[]): () => Uint8Array {
  let next = 0
  return () => {
    const image = pool[next++]
    if (!image) throw new Error(`imageFeed: the pool of ${pool.length} images ran out`)
    return image
  }
}

/**
 * Property: after every command, `photos.list` by position equals the model's order, in each
 * album and outside any. Throws naming the first command after which they differ.
 */
export async function checkAgainstModel(
  make: EngineFactory,
  pool: readonly Uint8Array[],
  commands: readonly PhotoCommand[],
): Promise<void> {
  const engine = await make()
  try {
    const run: ModelRun = {
      darkroom: engine.darkroom,
      caller: MODEL_CALLER,
      albums: await setupModelAlbums(engine.darkroom, MODEL_CALLER),
      nextImage: imageFeed(pool),
    }
    const model = new PhotoModel()
    for (const [i, command] of commands.entries()) {
      await runPhotoCommand(run, model, command)
      const mismatches = await compareWithModel(run, model)
      if (mismatches.length > 0) {
        throw new Error(
          `after command ${i} ${JSON.stringify(command)}: ${JSON.stringify(mismatches)}`,
        )
      }
      const lost = await lostBlobs(run, model)
      if (lost.length > 0) {
        throw new Error(`after command ${i} ${JSON.stringify(command)}: blobs lost for ${lost}`)
      }
    }
  } finally {
    await engine.close()
  }
}

export interface PagingScenario {
  /** Photos before the first page, each into an album slot. */
  initial: AlbumSlot[]
  sort: 'uploaded' | 'taken' | 'filename' | 'size' | 'rating' | 'position'
  order: 'asc' | 'desc'
  pageSize: number
  /** Photos inserted after page i (cycled). */
  insertsBetween: number[]
  /** Album filter: a slot, or undefined for every photo of the owner. */
  album?: AlbumSlot
}

/**
 * Property: keyset pagination visits every photo that existed before the first page exactly
 * once, and no photo twice, while other photos are inserted between pages.
 */
export async function checkKeysetPaging(
  make: EngineFactory,
  pool: readonly Uint8Array[],
  scenario: PagingScenario,
): Promise<void> {
  const engine = await make()
  try {
    const { darkroom } = engine
    const albums = await setupModelAlbums(darkroom, MODEL_CALLER)
    const nextImage = imageFeed(pool)
    const slotId = (slot: AlbumSlot) => (slot === 2 ? null : albums[slot])
    const initial = new Set<string>()
    for (const [i, slot] of scenario.initial.entries()) {
      const { uploaded } = await darkroom.photos.upload(MODEL_CALLER, {
        files: [{ filename: `f${(i * 7919) % 101}.jpg`, data: nextImage() }],
        albumId: slotId(slot),
      })
      initial.add(uploaded[0]!.id)
    }
    const filter = scenario.album === undefined ? {} : { albumId: slotId(scenario.album) }
    const expected = new Set(
      scenario.album === undefined
        ? initial
        : (await darkroom.photos.list(MODEL_CALLER, { ...filter, limit: 200 })).items.map(
            (p) => p.id,
          ),
    )
    const seen = new Map<string, number>()
    let cursor: string | undefined
    for (let page = 0; page < 500; page++) {
      const result = await darkroom.photos.list(MODEL_CALLER, {
        ...filter,
        sort: scenario.sort,
        order: scenario.order,
        limit: scenario.pageSize,
        ...(cursor ? { cursor } : {}),
      })
      for (const item of result.items) seen.set(item.id, (seen.get(item.id) ?? 0) + 1)
      if (!result.nextCursor) break
      cursor = result.nextCursor
      // Inserts stop after a few pages: in ascending order they land ahead of the cursor, and a
      // stream of them would keep the pages coming forever.
      const inserts =
        page < 6 ? scenario.insertsBetween[page % Math.max(1, scenario.insertsBetween.length)] : 0
      for (let i = 0; i < (inserts ?? 0); i++) {
        await darkroom.photos.upload(MODEL_CALLER, {
          files: [{ filename: `new${page}-${i}.jpg`, data: nextImage() }],
          albumId: slotId(scenario.initial[i % Math.max(1, scenario.initial.length)] ?? 2),
        })
      }
    }
    const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id)
    const missed = [...expected].filter((id) => !seen.has(id))
    if (twice.length > 0 || missed.length > 0) {
      throw new Error(`paging ${JSON.stringify(scenario)}: twice ${twice}, missed ${missed}`)
    }
  } finally {
    await engine.close()
  }
}

export interface CapScenario {
  photoCap: number
  /** Batches uploaded at once into the capped album (files per batch). */
  batches: number[]
  /** Photos moved (or copied) into the capped album at the same time. */
  moves: { copy: boolean }[]
  /** The owner's quota, in images' worth of bytes (the images of a pool are about one size). */
  quotaImages: number
  /** Batches uploaded at once by the owner with the quota. */
  quotaBatches: number[]
}

/**
 * Property: however batches, moves and copies interleave, an album never holds more than its
 * photoCap, and an owner never stores more bytes than its quota; what was reported as stored is
 * what is there.
 */
export async function checkCapsUnderConcurrency(
  make: EngineFactory,
  pool: readonly Uint8Array[],
  scenario: CapScenario,
): Promise<void> {
  const engine = await make()
  try {
    const { darkroom } = engine
    const nextImage = imageFeed(pool)
    const capped = await darkroom.albums.create(MODEL_CALLER, {
      title: 'Capped',
      photoCap: scenario.photoCap,
    })
    const source = await darkroom.albums.create(MODEL_CALLER, { title: 'Source' })
    const movable = scenario.moves.length
      ? (
          await darkroom.photos.upload(MODEL_CALLER, {
            albumId: source.id,
            files: scenario.moves.map((_, i) => ({ filename: `s${i}.jpg`, data: nextImage() })),
          })
        ).uploaded.map((p) => p.id)
      : []
    const quotaOwner: Caller = { ownerId: 'quota-owner', scopes: ['photos.read', 'photos.write'] }
    const admin: Caller = { ownerId: 'root', scopes: ['admin'] }
    const imageBytes = Math.max(...pool.map((p) => p.byteLength))
    const quota = scenario.quotaImages * imageBytes
    await darkroom.owners.setQuota(admin, { ownerId: quotaOwner.ownerId, quotaBytes: quota })

    let reportedIntoCap = 0
    let reportedQuotaBytes = 0
    const tasks: Promise<unknown>[] = [
      ...scenario.batches.map(async (count) => {
        const files = Array.from({ length: count }, (_, i) => ({
          filename: `c${i}.jpg`,
          data: nextImage(),
        }))
        const result = await darkroom.photos.upload(MODEL_CALLER, { albumId: capped.id, files })
        reportedIntoCap += result.uploaded.length
      }),
      ...scenario.moves.map(async ({ copy }, i) => {
        await darkroom.photos.move(MODEL_CALLER, { id: movable[i]!, albumId: capped.id, copy })
        reportedIntoCap++
      }),
      ...scenario.quotaBatches.map(async (count) => {
        const files = Array.from({ length: count }, (_, i) => ({
          filename: `q${i}.jpg`,
          data: nextImage(),
        }))
        const result = await darkroom.photos.upload(quotaOwner, { files })
        reportedQuotaBytes += photosOf(result).reduce((sum, p) => sum + p.size, 0)
      }),
    ]
    const settled = await Promise.allSettled(tasks)
    for (const outcome of settled) {
      if (outcome.status === 'rejected') {
        const code = (outcome.reason as { code?: string }).code
        if (code !== 'CAP_EXCEEDED') throw outcome.reason
      }
    }
    const inCap = await darkroom.photos.list(MODEL_CALLER, { albumId: capped.id, limit: 200 })
    if (inCap.total > scenario.photoCap || inCap.total !== reportedIntoCap) {
      throw new Error(
        `cap ${scenario.photoCap}: album holds ${inCap.total}, reported ${reportedIntoCap} (${JSON.stringify(scenario)})`,
      )
    }
    const stored = await darkroom.photos.list(quotaOwner, { limit: 200 })
    const bytes = stored.items.reduce((sum, p) => sum + p.size, 0)
    if (bytes > quota || bytes !== reportedQuotaBytes) {
      throw new Error(
        `quota ${quota}: ${bytes} bytes stored, reported ${reportedQuotaBytes} (${JSON.stringify(scenario)})`,
      )
    }
  } finally {
    await engine.close()
  }
}
