import { AsyncLocalStorage } from 'node:async_hooks'
import { matchesPhotoSearch } from '../domain/photo-search.js'
import {
  compareBinary,
  compareKeysets,
  comparePhotos,
  keysetOf,
  validatePhotoPaging,
} from '../domain/sort.js'
import type {
  AlbumRecord,
  CommentRecord,
  OwnerRecord,
  PhotoRecord,
  RetainedBlobRecord,
} from '../domain/types.js'
import { DarkroomError } from '../errors.js'
import type {
  AlbumPatch,
  AlbumWithCount,
  ChecksumClash,
  MetadataOps,
  MetadataStore,
  PhotoCounter,
  PhotoPage,
  PhotoPatch,
  PhotoQuery,
} from '../ports/metadata-store.js'
import { PHOTO_COUNTERS } from '../ports/metadata-store.js'

/**
 * The metadata store in memory, for tests. It passes the same contract suite as the SQL
 * adapters, so it keeps their semantics rather than being merely convenient:
 *
 * - one writer at a time: `transaction` and every standalone write queue on one promise mutex;
 * - a transaction works on a copy of the state that replaces the committed state only when `fn`
 *   resolves, so a throw rolls everything back and readers outside see committed rows only;
 * - the unique index `(ownerId, albumId ?? '', checksum)` and the album foreign key hold
 *   (`CONFLICT`, `NOT_FOUND`), deleting a photo cascades to its reactions;
 * - records go in and come out as copies.
 *
 * Where SQLite would wait forever (a call on the store, not on `tx`, inside a transaction) this
 * store throws at once, naming the mistake.
 */

interface RatingRow {
  photoId: string
  userId: string
  rating: number
}

interface State {
  photos: Map<string, PhotoRecord>
  albums: Map<string, AlbumRecord>
  owners: Map<string, OwnerRecord>
  /** `photoId \0 userId` */
  likes: Set<string>
  ratings: Map<string, RatingRow>
  comments: Map<string, CommentRecord>
  retained: Map<string, RetainedBlobRecord>
}

function emptyState(): State {
  return {
    photos: new Map(),
    albums: new Map(),
    owners: new Map(),
    likes: new Set(),
    ratings: new Map(),
    comments: new Map(),
    retained: new Map(),
  }
}

// Rows are never mutated in place, only replaced, so copying the collections is enough.
function cloneState(s: State): State {
  return {
    photos: new Map(s.photos),
    albums: new Map(s.albums),
    owners: new Map(s.owners),
    likes: new Set(s.likes),
    ratings: new Map(s.ratings),
    comments: new Map(s.comments),
    retained: new Map(s.retained),
  }
}

const copy = <T>(value: T): T => structuredClone(value)

const pairKey = (photoId: string, userId: string) => `${photoId}\u0000${userId}`

const PHOTO_PATCH_KEYS = [
  'albumId',
  'category',
  'filename',
  'description',
  'isPublic',
  'hidden',
  'pending',
  'deletedAt',
  'position',
  'postId',
  'width',
  'height',
  'orientation',
  'manualDimensions',
  'variants',
  'updatedAt',
] as const satisfies readonly (keyof PhotoPatch)[]

const ALBUM_PATCH_KEYS = [
  'title',
  'description',
  'photoCap',
  'coverPhotoId',
  'updatedAt',
] as const satisfies readonly (keyof AlbumPatch)[]

function conflict(message: string): DarkroomError {
  return new DarkroomError('CONFLICT', message)
}

function invalid(property: string, message: string): DarkroomError {
  return new DarkroomError('VALIDATION', message, { violations: [{ property, message }] })
}

/** The operations over one state: the committed one (reads) or a transaction's copy. */
class MemoryOps implements MetadataOps {
  readonly #s: State
  readonly #check: () => void

  constructor(state: State, check: () => void = () => {}) {
    this.#s = state
    this.#check = check
  }

  // ---- photos ----

  async insertPhoto(photo: PhotoRecord): Promise<void> {
    this.#check()
    if (this.#s.photos.has(photo.id)) throw conflict(`Photo ${photo.id} already exists.`)
    this.#assertAlbumExists(photo.albumId)
    this.#assertUniqueChecksum(photo)
    this.#s.photos.set(photo.id, copy(photo))
  }

  async getPhoto(id: string): Promise<PhotoRecord | null> {
    this.#check()
    const photo = this.#s.photos.get(id)
    return photo ? copy(photo) : null
  }

  async getPhotos(ids: readonly string[]): Promise<PhotoRecord[]> {
    this.#check()
    const out: PhotoRecord[] = []
    for (const id of new Set(ids)) {
      const photo = this.#s.photos.get(id)
      if (photo) out.push(copy(photo))
    }
    return out
  }

  async findPhotoByChecksum(
    ownerId: string,
    albumId: string | null,
    checksum: string,
  ): Promise<PhotoRecord | null> {
    this.#check()
    for (const p of this.#s.photos.values()) {
      if (p.ownerId === ownerId && p.albumId === albumId && p.checksum === checksum) return copy(p)
    }
    return null
  }

  async listPhotos(query: PhotoQuery): Promise<PhotoPage> {
    this.#check()
    validatePhotoPaging(query)
    const { sort, order, after } = query
    const pending = query.pending ?? false
    const trashed = query.trashed ?? false
    const rows = [...this.#s.photos.values()].filter(
      (p) =>
        p.ownerId === query.ownerId &&
        (query.albumId === undefined || p.albumId === query.albumId) &&
        (query.category === undefined || p.category === query.category) &&
        (query.hidden === undefined || p.hidden === query.hidden) &&
        p.pending === pending &&
        (p.deletedAt !== null) === trashed &&
        (query.search === undefined || matchesPhotoSearch(p.filename, p.description, query.search)),
    )
    rows.sort((a, b) => comparePhotos(a, b, sort, order))
    const total = query.count === false ? null : rows.length
    const from = after
      ? rows.filter((p) => compareKeysets(keysetOf(p, sort), after, order) > 0)
      : rows
    const offset = query.offset ?? 0
    return { items: from.slice(offset, offset + query.limit).map(copy), total }
  }

  async updatePhoto(id: string, patch: PhotoPatch): Promise<PhotoRecord> {
    this.#check()
    const current = this.#photo(id)
    const next: PhotoRecord = { ...current }
    for (const key of PHOTO_PATCH_KEYS) {
      if (patch[key] !== undefined) Object.assign(next, { [key]: copy(patch[key]) })
    }
    if (next.albumId !== current.albumId) {
      this.#assertAlbumExists(next.albumId)
      this.#assertUniqueChecksum(next)
    }
    this.#s.photos.set(id, next)
    return copy(next)
  }

  async incrementPhotoCounters(
    id: string,
    deltas: Partial<Record<PhotoCounter, number>>,
  ): Promise<PhotoRecord> {
    this.#check()
    const next: PhotoRecord = { ...this.#photo(id) }
    for (const key of PHOTO_COUNTERS) {
      const delta = deltas[key]
      if (delta === undefined) continue
      if (!Number.isSafeInteger(delta)) throw invalid(key, `${key} delta must be an integer.`)
      next[key] += delta
    }
    this.#s.photos.set(id, next)
    return copy(next)
  }

  async deletePhoto(id: string): Promise<void> {
    this.#check()
    this.#photo(id)
    this.#s.photos.delete(id)
    for (const key of [...this.#s.likes]) {
      if (key.startsWith(pairKey(id, ''))) this.#s.likes.delete(key)
    }
    for (const [key, row] of [...this.#s.ratings]) {
      if (row.photoId === id) this.#s.ratings.delete(key)
    }
    for (const [key, row] of [...this.#s.comments]) {
      if (row.photoId === id) this.#s.comments.delete(key)
    }
  }

  async countAlbumPhotos(albumId: string): Promise<number> {
    this.#check()
    let n = 0
    for (const p of this.#s.photos.values()) if (p.albumId === albumId && !p.deletedAt) n++
    return n
  }

  async sumOwnerBytes(ownerId: string): Promise<number> {
    this.#check()
    let sum = 0
    for (const p of this.#s.photos.values()) if (p.ownerId === ownerId) sum += p.size
    return sum
  }

  async getLastPosition(ownerId: string, albumId: string | null): Promise<string | null> {
    this.#check()
    let last: string | null = null
    for (const p of this.#s.photos.values()) {
      if (p.ownerId !== ownerId || p.albumId !== albumId) continue
      if (last === null || compareBinary(p.position, last) > 0) last = p.position
    }
    return last
  }

  async getAdjacentPosition(args: {
    ownerId: string
    albumId: string | null
    position: string
    direction: 'before' | 'after'
    excludeId: string
  }): Promise<string | null> {
    this.#check()
    const sign = args.direction === 'after' ? 1 : -1
    let best: string | null = null
    for (const p of this.#s.photos.values()) {
      if (p.ownerId !== args.ownerId || p.albumId !== args.albumId || p.id === args.excludeId) {
        continue
      }
      if (sign * compareBinary(p.position, args.position) <= 0) continue
      if (best === null || sign * compareBinary(p.position, best) < 0) best = p.position
    }
    return best
  }

  async listAdjacentPositions(
    args: Parameters<MetadataOps['listAdjacentPositions']>[0],
  ): Promise<Array<{ id: string; position: string }>> {
    this.#check()
    const sign = args.direction === 'after' ? 1 : -1
    return [...this.#s.photos.values()]
      .filter(
        (p) =>
          p.ownerId === args.ownerId &&
          p.albumId === args.albumId &&
          p.id !== args.excludeId &&
          (args.position === null || sign * compareBinary(p.position, args.position) > 0),
      )
      .sort(
        (a, b) => sign * compareBinary(a.position, b.position) || sign * compareBinary(a.id, b.id),
      )
      .slice(0, args.limit)
      .map((p) => ({ id: p.id, position: p.position }))
  }

  async findPhotosByOriginalKey(keys: readonly string[]): Promise<PhotoRecord[]> {
    this.#check()
    const wanted = new Set(keys)
    return [...this.#s.photos.values()].filter((p) => wanted.has(p.originalKey)).map(copy)
  }

  async lockPhoto(id: string): Promise<PhotoRecord | null> {
    // Transactions are serialised as a whole, which is stronger than a row lock.
    return this.getPhoto(id)
  }

  async listPendingBefore(cutoff: Date, limit: number): Promise<PhotoRecord[]> {
    this.#check()
    return [...this.#s.photos.values()]
      .filter((p) => p.pending && p.createdAt.getTime() < cutoff.getTime())
      .sort((a, b) => comparePhotos(a, b, 'uploaded', 'asc'))
      .slice(0, limit)
      .map(copy)
  }

  async listTrashedBefore(cutoff: Date, limit: number): Promise<PhotoRecord[]> {
    this.#check()
    return [...this.#s.photos.values()]
      .filter((p) => p.deletedAt !== null && p.deletedAt.getTime() < cutoff.getTime())
      .sort(
        (a, b) =>
          a.deletedAt!.getTime() - b.deletedAt!.getTime() || Math.sign(compareBinary(a.id, b.id)),
      )
      .slice(0, limit)
      .map(copy)
  }

  async scanPhotos(args: {
    ownerId?: string
    afterId?: string
    limit: number
  }): Promise<PhotoRecord[]> {
    this.#check()
    const { ownerId, afterId } = args
    return [...this.#s.photos.values()]
      .filter(
        (p) =>
          (ownerId === undefined || p.ownerId === ownerId) &&
          (afterId === undefined || compareBinary(p.id, afterId) > 0),
      )
      .sort((a, b) => compareBinary(a.id, b.id))
      .slice(0, args.limit)
      .map(copy)
  }

  // ---- blobs kept on purpose ----

  async retainBlobs(blobs: readonly RetainedBlobRecord[]): Promise<void> {
    this.#check()
    for (const blob of blobs) {
      if (!this.#s.retained.has(blob.key)) this.#s.retained.set(blob.key, copy(blob))
    }
  }

  async findRetainedBlobs(keys: readonly string[]): Promise<string[]> {
    this.#check()
    return [...new Set(keys)].filter((key) => this.#s.retained.has(key))
  }

  // ---- albums ----

  async insertAlbum(album: AlbumRecord): Promise<void> {
    this.#check()
    if (this.#s.albums.has(album.id)) throw conflict(`Album ${album.id} already exists.`)
    this.#s.albums.set(album.id, copy(album))
  }

  async getAlbum(id: string): Promise<AlbumRecord | null> {
    this.#check()
    const album = this.#s.albums.get(id)
    return album ? copy(album) : null
  }

  async lockAlbum(id: string): Promise<AlbumRecord | null> {
    // Transactions are serialised as a whole, which is stronger than a row lock.
    return this.getAlbum(id)
  }

  async listAlbums(ownerId: string): Promise<AlbumWithCount[]> {
    this.#check()
    const albums = [...this.#s.albums.values()]
      .filter((a) => a.ownerId === ownerId)
      .sort(
        (a, b) =>
          a.createdAt.getTime() - b.createdAt.getTime() || Math.sign(compareBinary(a.id, b.id)),
      )
    const out: AlbumWithCount[] = []
    for (const album of albums) {
      out.push({ ...copy(album), photoCount: await this.countAlbumPhotos(album.id) })
    }
    return out
  }

  async updateAlbum(id: string, patch: AlbumPatch): Promise<AlbumRecord> {
    this.#check()
    const current = this.#s.albums.get(id)
    if (!current) throw DarkroomError.notFound('Album', id)
    const next: AlbumRecord = { ...current }
    for (const key of ALBUM_PATCH_KEYS) {
      if (patch[key] !== undefined) Object.assign(next, { [key]: copy(patch[key]) })
    }
    this.#s.albums.set(id, next)
    return copy(next)
  }

  async listChecksumClashes(albumId: string): Promise<ChecksumClash[]> {
    this.#check()
    const clashes: ChecksumClash[] = []
    for (const inAlbum of this.#s.photos.values()) {
      if (inAlbum.albumId !== albumId) continue
      for (const outside of this.#s.photos.values()) {
        if (
          outside.albumId === null &&
          outside.ownerId === inAlbum.ownerId &&
          outside.checksum === inAlbum.checksum
        ) {
          clashes.push({ inAlbum: copy(inAlbum), outside: copy(outside) })
        }
      }
    }
    return clashes
  }

  async deleteAlbum(id: string): Promise<void> {
    this.#check()
    if (!this.#s.albums.has(id)) throw DarkroomError.notFound('Album', id)
    const moved = [...this.#s.photos.values()].filter((p) => p.albumId === id)
    for (const p of moved) this.#assertUniqueChecksum({ ...p, albumId: null })
    for (const p of moved) this.#s.photos.set(p.id, { ...p, albumId: null })
    this.#s.albums.delete(id)
  }

  // ---- owners ----

  async getOwner(ownerId: string): Promise<OwnerRecord | null> {
    this.#check()
    const owner = this.#s.owners.get(ownerId)
    return owner ? copy(owner) : null
  }

  async lockOwner(ownerId: string): Promise<OwnerRecord> {
    this.#check()
    if (!this.#s.owners.has(ownerId)) {
      this.#s.owners.set(ownerId, { ownerId, quotaBytes: null, profilePhotoId: null })
    }
    return copy(this.#s.owners.get(ownerId)!)
  }

  async upsertOwner(owner: OwnerRecord): Promise<void> {
    this.#check()
    this.#s.owners.set(owner.ownerId, copy(owner))
  }

  // ---- reactions ----

  async setLike(photoId: string, userId: string, liked: boolean): Promise<boolean> {
    this.#check()
    this.#photo(photoId)
    const key = pairKey(photoId, userId)
    if (this.#s.likes.has(key) === liked) return false
    if (liked) this.#s.likes.add(key)
    else this.#s.likes.delete(key)
    return true
  }

  async setRating(photoId: string, userId: string, rating: number): Promise<number | null> {
    this.#check()
    if (!Number.isInteger(rating) || rating < 1 || rating > 5) {
      throw invalid('rating', `A rating is an integer from 1 to 5, got ${rating}.`)
    }
    this.#photo(photoId)
    const key = pairKey(photoId, userId)
    const previous = this.#s.ratings.get(key)?.rating ?? null
    this.#s.ratings.set(key, { photoId, userId, rating })
    return previous
  }

  async insertComment(comment: CommentRecord): Promise<void> {
    this.#check()
    if (this.#s.comments.has(comment.id)) throw conflict(`Comment ${comment.id} already exists.`)
    this.#photo(comment.photoId)
    this.#s.comments.set(comment.id, copy(comment))
  }

  async listComments(photoId: string, limit: number): Promise<CommentRecord[]> {
    this.#check()
    return [...this.#s.comments.values()]
      .filter((c) => c.photoId === photoId)
      .sort(
        (a, b) =>
          a.createdAt.getTime() - b.createdAt.getTime() || Math.sign(compareBinary(a.id, b.id)),
      )
      .slice(0, limit)
      .map(copy)
  }

  // ---- internals ----

  #photo(id: string): PhotoRecord {
    const photo = this.#s.photos.get(id)
    if (!photo) throw DarkroomError.notFound('Photo', id)
    return photo
  }

  // The foreign key photos.album_id → albums.id.
  #assertAlbumExists(albumId: string | null): void {
    if (albumId !== null && !this.#s.albums.has(albumId)) {
      throw DarkroomError.notFound('Album', albumId)
    }
  }

  // The unique index (owner_id, album_key, checksum).
  #assertUniqueChecksum(photo: PhotoRecord): void {
    for (const p of this.#s.photos.values()) {
      if (
        p.id !== photo.id &&
        p.ownerId === photo.ownerId &&
        p.albumId === photo.albumId &&
        p.checksum === photo.checksum
      ) {
        throw conflict(
          `Owner ${photo.ownerId} already has photo ${p.id} with checksum ${photo.checksum} ` +
            `in ${photo.albumId === null ? 'no album' : `album ${photo.albumId}`}.`,
        )
      }
    }
  }
}

interface TxFrame {
  active: boolean
}

/**
 * @example
 * const store = new MemoryMetadataStore()
 * await store.insertPhoto(makePhotoRecord({ ownerId: 'u1' }))
 */
export class MemoryMetadataStore implements MetadataStore {
  #state: State = emptyState()
  #tail: Promise<unknown> = Promise.resolve()
  readonly #frames = new AsyncLocalStorage<TxFrame>()
  #closed = false

  async transaction<T>(fn: (tx: MetadataOps) => Promise<T>): Promise<T> {
    this.#assertUsable()
    return this.#exclusive(async () => {
      const work = cloneState(this.#state)
      const frame: TxFrame = { active: true }
      const tx = new MemoryOps(work, () => {
        if (!frame.active) throw new Error('MemoryMetadataStore: this transaction has ended.')
      })
      try {
        const result = await this.#frames.run(frame, () => fn(tx))
        this.#state = work
        return result
      } finally {
        frame.active = false
      }
    })
  }

  async migrate(): Promise<void> {
    this.#assertUsable()
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  insertPhoto(photo: PhotoRecord) {
    return this.#write((ops) => ops.insertPhoto(photo))
  }
  getPhoto(id: string) {
    return this.#read((ops) => ops.getPhoto(id))
  }
  getPhotos(ids: readonly string[]) {
    return this.#read((ops) => ops.getPhotos(ids))
  }
  findPhotoByChecksum(ownerId: string, albumId: string | null, checksum: string) {
    return this.#read((ops) => ops.findPhotoByChecksum(ownerId, albumId, checksum))
  }
  listPhotos(query: PhotoQuery) {
    return this.#read((ops) => ops.listPhotos(query))
  }
  updatePhoto(id: string, patch: PhotoPatch) {
    return this.#write((ops) => ops.updatePhoto(id, patch))
  }
  incrementPhotoCounters(id: string, deltas: Partial<Record<PhotoCounter, number>>) {
    return this.#write((ops) => ops.incrementPhotoCounters(id, deltas))
  }
  deletePhoto(id: string) {
    return this.#write((ops) => ops.deletePhoto(id))
  }
  countAlbumPhotos(albumId: string) {
    return this.#read((ops) => ops.countAlbumPhotos(albumId))
  }
  sumOwnerBytes(ownerId: string) {
    return this.#read((ops) => ops.sumOwnerBytes(ownerId))
  }
  getLastPosition(ownerId: string, albumId: string | null) {
    return this.#read((ops) => ops.getLastPosition(ownerId, albumId))
  }
  getAdjacentPosition(args: Parameters<MetadataOps['getAdjacentPosition']>[0]) {
    return this.#read((ops) => ops.getAdjacentPosition(args))
  }
  listAdjacentPositions(args: Parameters<MetadataOps['listAdjacentPositions']>[0]) {
    return this.#read((ops) => ops.listAdjacentPositions(args))
  }
  findPhotosByOriginalKey(keys: readonly string[]) {
    return this.#read((ops) => ops.findPhotosByOriginalKey(keys))
  }
  lockPhoto(id: string) {
    return this.#read((ops) => ops.lockPhoto(id))
  }
  listPendingBefore(cutoff: Date, limit: number) {
    return this.#read((ops) => ops.listPendingBefore(cutoff, limit))
  }
  listTrashedBefore(cutoff: Date, limit: number) {
    return this.#read((ops) => ops.listTrashedBefore(cutoff, limit))
  }
  scanPhotos(args: Parameters<MetadataOps['scanPhotos']>[0]) {
    return this.#read((ops) => ops.scanPhotos(args))
  }
  retainBlobs(blobs: readonly RetainedBlobRecord[]) {
    return this.#write((ops) => ops.retainBlobs(blobs))
  }
  findRetainedBlobs(keys: readonly string[]) {
    return this.#read((ops) => ops.findRetainedBlobs(keys))
  }
  insertAlbum(album: AlbumRecord) {
    return this.#write((ops) => ops.insertAlbum(album))
  }
  getAlbum(id: string) {
    return this.#read((ops) => ops.getAlbum(id))
  }
  lockAlbum(id: string) {
    return this.#read((ops) => ops.lockAlbum(id))
  }
  listAlbums(ownerId: string) {
    return this.#read((ops) => ops.listAlbums(ownerId))
  }
  updateAlbum(id: string, patch: AlbumPatch) {
    return this.#write((ops) => ops.updateAlbum(id, patch))
  }
  listChecksumClashes(albumId: string) {
    return this.#read((ops) => ops.listChecksumClashes(albumId))
  }
  deleteAlbum(id: string) {
    return this.#write((ops) => ops.deleteAlbum(id))
  }
  getOwner(ownerId: string) {
    return this.#read((ops) => ops.getOwner(ownerId))
  }
  lockOwner(ownerId: string) {
    return this.#write((ops) => ops.lockOwner(ownerId))
  }
  upsertOwner(owner: OwnerRecord) {
    return this.#write((ops) => ops.upsertOwner(owner))
  }
  setLike(photoId: string, userId: string, liked: boolean) {
    return this.#write((ops) => ops.setLike(photoId, userId, liked))
  }
  setRating(photoId: string, userId: string, rating: number) {
    return this.#write((ops) => ops.setRating(photoId, userId, rating))
  }
  insertComment(comment: CommentRecord) {
    return this.#write((ops) => ops.insertComment(comment))
  }
  listComments(photoId: string, limit: number) {
    return this.#read((ops) => ops.listComments(photoId, limit))
  }

  // Reads outside a transaction see committed rows only, like a second SQL connection.
  async #read<T>(fn: (ops: MetadataOps) => Promise<T>): Promise<T> {
    this.#assertUsable()
    return fn(new MemoryOps(this.#state))
  }

  // A standalone write is a transaction of its own: atomic, and queued behind other writers.
  #write<T>(fn: (ops: MetadataOps) => Promise<T>): Promise<T> {
    return this.transaction(fn)
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn)
    this.#tail = run.catch(() => undefined)
    return run
  }

  #assertUsable(): void {
    if (this.#closed) throw new Error('MemoryMetadataStore: the store is closed.')
    if (this.#frames.getStore()?.active) {
      throw new Error(
        'MemoryMetadataStore: a call on the store inside transaction() would wait forever ' +
          '(SQLite has one connection); use the tx handed to fn.',
      )
    }
  }
}
