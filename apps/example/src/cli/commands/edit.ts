import { parse, positionals, UsageError } from '../args.js'
import type { CommandContext } from '../context.js'

/** `reorder <id> --before <id> | --after <id>`: places a photo next to another in its album. */
export async function reorderCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals: given } = parse(argv, {
    before: { type: 'string' },
    after: { type: 'string' },
  })
  const [id] = positionals(given, ['id'], 'reorder')
  if ((values.before === undefined) === (values.after === undefined)) {
    throw new UsageError('Usage: reorder <id> --before <id> | --after <id> (exactly one of them)')
  }
  const photo = await ctx.client.photos.reorder.mutate(
    values.before !== undefined
      ? { id: id!, before: values.before }
      : { id: id!, after: values.after },
  )
  if (ctx.json) {
    ctx.output.line(JSON.stringify(photo, null, 2))
    return 0
  }
  const where = values.before !== undefined ? `before ${values.before}` : `after ${values.after}`
  // A key without photos.read is answered a receipt: no filename, no position.
  ctx.output.line(
    'withheld' in photo
      ? `Moved ${photo.id} ${where}`
      : `Moved ${photo.id} (${photo.filename}) ${where}; its position is now ${photo.position}`,
  )
  return 0
}

/** `hide <id>` / `unhide <id>`. */
export async function setHiddenCommand(
  ctx: CommandContext,
  argv: string[],
  hidden: boolean,
): Promise<number> {
  const parsed = parse(argv, {})
  const [id] = positionals(parsed.positionals, ['id'], hidden ? 'hide' : 'unhide')
  const photo = await ctx.client.photos.update.mutate({ id: id!, hidden })
  if (ctx.json) ctx.output.line(JSON.stringify(photo, null, 2))
  else {
    const name = 'withheld' in photo ? '' : ` (${photo.filename})`
    ctx.output.line(`${hidden ? 'Hidden' : 'Visible again'}: ${photo.id}${name}`)
  }
  return 0
}

/** `delete <id> [--hard]`: to the trash (restorable), or for good with every variant. */
export async function deleteCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals: given } = parse(argv, { hard: { type: 'boolean' } })
  const [id] = positionals(given, ['id'], 'delete')
  const result = await ctx.client.photos.delete.mutate({ id: id!, hard: values.hard === true })
  if (ctx.json) ctx.output.line(JSON.stringify(result, null, 2))
  else {
    ctx.output.line(
      result.hard
        ? `Deleted ${result.id} for good (original, variants and record).`
        : `Moved ${result.id} to the trash (photos.restore brings it back).`,
    )
  }
  return 0
}

/**
 * `repair-dimensions [--only-missing] [--override-manual]`: re-reads width/height/orientation
 * from the originals; dimensions set by hand are kept unless `--override-manual`.
 */
export async function repairDimensionsCommand(
  ctx: CommandContext,
  argv: string[],
): Promise<number> {
  const { values, positionals: given } = parse(argv, {
    'only-missing': { type: 'boolean' },
    'override-manual': { type: 'boolean' },
  })
  if (given.length > 0) {
    throw new UsageError('Usage: repair-dimensions [--only-missing] [--override-manual]')
  }
  const result = await ctx.client.photos.repairDimensions.mutate({
    onlyMissing: values['only-missing'] === true,
    overrideManual: values['override-manual'] === true,
  })
  if (ctx.json) {
    ctx.output.line(JSON.stringify(result, null, 2))
    return result.failed > 0 ? 1 : 0
  }
  const kept =
    result.keptManual > 0
      ? ` ${result.keptManual} kept as set by hand (--override-manual re-reads them).`
      : ''
  ctx.output.line(
    `Scanned ${result.scanned} photos: ${result.repaired} repaired, ${result.failed} failed.${kept}`,
  )
  for (const failure of result.failures) ctx.output.line(`  ${failure.id}: ${failure.message}`)
  return result.failed > 0 ? 1 : 0
}
