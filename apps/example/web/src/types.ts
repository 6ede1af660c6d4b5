import type { DarkroomClient } from '../../src/client.js'

/** Shapes as the server returns them, inferred from the typed client (no server import). */
export type Photo = Awaited<ReturnType<DarkroomClient['photos']['get']['query']>>
export type Album = Awaited<ReturnType<DarkroomClient['albums']['get']['query']>>

export type View = { kind: 'all' } | { kind: 'album'; albumId: string } | { kind: 'trash' }
