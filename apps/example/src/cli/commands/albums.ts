import type { DarkroomClient } from '../../client.js'
import { parse, UsageError } from '../args.js'
import type { CommandContext } from '../context.js'
import { table } from '../format.js'

/** `albums`: the caller's albums with their photo counts and caps. */
export async function albumsCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const { positionals } = parse(argv, {})
  if (positionals.length > 0) throw new UsageError('Usage: albums [--json]')
  const albums = await ctx.client.albums.list.query()
  if (ctx.json) {
    ctx.output.line(JSON.stringify(albums, null, 2))
    return 0
  }
  if (albums.length === 0) {
    ctx.output.line('No albums yet (upload <folder> --album NAME creates one).')
    return 0
  }
  const rows = albums.map((a) => [
    a.id,
    a.title,
    String(a.photoCount),
    a.photoCap === null ? '-' : String(a.photoCap),
    a.createdAt.slice(0, 19).replace('T', ' '),
  ])
  for (const line of table(['ID', 'TITLE', 'PHOTOS', 'CAP', 'CREATED'], rows, { right: [2, 3] })) {
    ctx.output.line(line)
  }
  return 0
}

export interface AlbumRef {
  id: string
  title: string
  photoCount: number
  created: boolean
}

/** An album given by id or title; `create` makes it when no title matches. */
export async function findAlbum(
  client: DarkroomClient,
  nameOrId: string,
  { create = false }: { create?: boolean } = {},
): Promise<AlbumRef | null> {
  const albums = await client.albums.list.query()
  const wanted = nameOrId.trim()
  const found =
    albums.find((a) => a.id === wanted) ??
    albums.find((a) => a.title === wanted) ??
    albums.find((a) => a.title.toLowerCase() === wanted.toLowerCase())
  if (found)
    return { id: found.id, title: found.title, photoCount: found.photoCount, created: false }
  if (!create) return null
  const album = await client.albums.create.mutate({ title: wanted })
  return { id: album.id, title: album.title, photoCount: 0, created: true }
}

export async function findOrCreateAlbum(client: DarkroomClient, name: string): Promise<AlbumRef> {
  return (await findAlbum(client, name, { create: true }))!
}
