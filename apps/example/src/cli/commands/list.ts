import type { ListPhotosInput, Photo } from '../../client.js'
import { CliError, intFlag, parse, UsageError } from '../args.js'
import type { CommandContext } from '../context.js'
import { formatBytes, table, truncate } from '../format.js'
import { findAlbum } from './albums.js'

type Sort = NonNullable<ListPhotosInput['sort']>
// `satisfies` ties this list to the router's type: a sort the server does not know fails to compile.
const SORTS = [
  'uploaded',
  'taken',
  'filename',
  'size',
  'rating',
  'position',
] as const satisfies readonly Sort[]

/**
 * `list [--album NAME|ID|none] [--sort S] [--order asc|desc] [--limit N] [--cursor C]
 * [--hidden|--visible] [--search TEXT] [--json]`: one page of photos.
 */
export async function listCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    album: { type: 'string' },
    sort: { type: 'string' },
    order: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    search: { type: 'string' },
    category: { type: 'string' },
    hidden: { type: 'boolean' },
    visible: { type: 'boolean' },
  })
  if (positionals.length > 0) throw new UsageError('Usage: list [--album NAME] [--sort S] ...')
  const input: ListPhotosInput = {}
  if (values.album !== undefined) {
    if (values.album === 'none') {
      input.albumId = null
    } else {
      const album = await findAlbum(ctx.client, values.album)
      if (!album) throw new CliError(`No album is called or has the id "${values.album}".`)
      input.albumId = album.id
    }
  }
  if (values.sort !== undefined) {
    const sort = SORTS.find((s) => s === values.sort)
    if (!sort) throw new UsageError(`--sort is one of ${SORTS.join(', ')} (got "${values.sort}").`)
    input.sort = sort
  }
  if (values.order !== undefined) {
    if (values.order !== 'asc' && values.order !== 'desc') {
      throw new UsageError(`--order is asc or desc (got "${values.order}").`)
    }
    input.order = values.order
  }
  input.limit = intFlag('limit', values.limit, { min: 1, max: 200 }) ?? 50
  if (values.cursor) input.cursor = values.cursor
  if (values.search) input.search = values.search
  if (values.category) input.category = values.category
  if (values.hidden && values.visible) throw new UsageError('Give --hidden or --visible, not both.')
  if (values.hidden) input.hidden = true
  if (values.visible) input.hidden = false

  const page = await ctx.client.photos.list.query(input)
  if (ctx.json) {
    ctx.output.line(JSON.stringify(page, null, 2))
    return 0
  }
  if (page.items.length === 0) {
    ctx.output.line(page.total > 0 ? `No more photos (${page.total} in all).` : 'No photos.')
    return 0
  }
  for (const line of table(
    ['ID', 'FILENAME', 'SIZE', 'DIMENSIONS', 'TAKEN', 'FLAGS'],
    page.items.map(row),
    { right: [2] },
  )) {
    ctx.output.line(line)
  }
  ctx.output.line(`${page.items.length} of ${page.total}`)
  if (page.nextCursor) ctx.output.line(`next page: --cursor ${page.nextCursor}`)
  return 0
}

function row(photo: Photo): string[] {
  const flags = [photo.hidden && 'hidden', photo.isPublic && 'public', photo.pending && 'pending']
  return [
    photo.id,
    truncate(photo.filename, 32),
    formatBytes(photo.size),
    photo.width !== null && photo.height !== null ? `${photo.width}x${photo.height}` : '?',
    photo.takenAt ? photo.takenAt.slice(0, 19).replace('T', ' ') : '-',
    flags.filter(Boolean).join(',') || '-',
  ]
}
