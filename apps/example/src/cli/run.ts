import { parseArgs } from 'node:util'
import { UsageError } from './args.js'
import { albumsCommand } from './commands/albums.js'
import {
  deleteCommand,
  reorderCommand,
  repairDimensionsCommand,
  setHiddenCommand,
} from './commands/edit.js'
import { listCommand } from './commands/list.js'
import { showCommand } from './commands/show.js'
import { uploadCommand, type UploadSignals } from './commands/upload.js'
import { connect, DEFAULT_URL, processOutput, type CommandContext, type Output } from './context.js'
import { explain } from './errors.js'

/**
 * The example CLI: `npm run example -- <command>`. It talks to a Darkroom server only through
 * the typed tRPC client (`createDarkroomClient`, typed by `AppRouter`) and tus-js-client.
 */

export const USAGE = `Usage: npm run example -- <command> [options]

Commands:
  upload <folder> [--album NAME] [--category C] [--parallel N] [--chunk-size 8MiB] [--recursive]
                      resumable uploads (tus); Ctrl-C stops, the same command resumes
  albums              your albums
  list [--album NAME|ID|none] [--sort uploaded|taken|filename|size|rating|position]
       [--order asc|desc] [--limit N] [--cursor C] [--hidden|--visible] [--search TEXT]
  show <id>           dimensions, orientation, date, camera, GPS, variant URLs
  reorder <id> --before <id> | --after <id>
  hide <id> | unhide <id>
  delete <id> [--hard]
  repair-dimensions [--only-missing] [--override-manual]

Options for every command:
  --url URL           the server (env DARKROOM_URL, default ${DEFAULT_URL})
  --key sk_...        an API key (env DARKROOM_KEY)
  --json              JSON output (albums, list, show and the edits)

Exit codes: 0 done, 1 failed (or some files were not uploaded), 2 usage, 130 interrupted.`

type Command = (ctx: CommandContext, argv: string[]) => Promise<number>

export interface RunOptions {
  env?: Record<string, string | undefined>
  output?: Output
  signals?: UploadSignals
}

/** Runs one command line; returns the exit code (never throws, never exits the process). */
export async function run(argv: string[], options: RunOptions = {}): Promise<number> {
  const output = options.output ?? processOutput()
  const env = options.env ?? process.env
  const signals = options.signals ?? processSignals()
  const commands: Record<string, Command> = {
    upload: (ctx, args) => uploadCommand(ctx, args, signals),
    albums: albumsCommand,
    list: listCommand,
    show: showCommand,
    reorder: reorderCommand,
    hide: (ctx, args) => setHiddenCommand(ctx, args, true),
    unhide: (ctx, args) => setHiddenCommand(ctx, args, false),
    delete: deleteCommand,
    'repair-dimensions': repairDimensionsCommand,
  }
  const [name, ...rest] = argv
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    output.line(USAGE)
    return name ? 0 : 2
  }
  const command = commands[name]
  if (!command) {
    output.error(`Unknown command "${name}".\n\n${USAGE}`)
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    output.line(USAGE)
    return 0
  }
  let baseUrl = DEFAULT_URL
  try {
    const flags = connectionFlags(rest)
    const connection = connect(flags, env)
    baseUrl = connection.baseUrl
    // `npm run example` runs in the repo root; INIT_CWD is where the user typed the command.
    const cwd = env.INIT_CWD || process.cwd()
    return await command({ ...connection, output, json: flags.json, cwd }, rest)
  } catch (error) {
    const { message, exitCode } = explain(error, baseUrl)
    output.error(exitCode === 2 ? `${message}\n(see --help)` : message)
    return exitCode
  }
}

/** `--url`, `--key`, `--json` wherever they are, before the command's own strict parse. */
function connectionFlags(argv: string[]): { url?: string; key?: string; json: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: { url: { type: 'string' }, key: { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: true,
    strict: false,
  })
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined)
  if (values.url === true || values.key === true) {
    throw new UsageError('--url and --key take a value.')
  }
  return { url: text(values.url), key: text(values.key), json: values.json === true }
}

/** Ctrl-C: the first one goes to the command (upload stops cleanly), a second exits at once. */
function processSignals(): UploadSignals {
  return {
    onInterrupt(handler) {
      let count = 0
      const listener = () => {
        count++
        if (count > 1) process.exit(130)
        handler()
      }
      process.on('SIGINT', listener)
      process.on('SIGTERM', listener)
      return () => {
        process.off('SIGINT', listener)
        process.off('SIGTERM', listener)
      }
    },
  }
}
