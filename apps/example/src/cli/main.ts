#!/usr/bin/env node
import { DEFAULT_URL } from './context.js'
import { explain } from './errors.js'
import { run } from './run.js'

// Last resort: an error that escapes every command (a library's unhandled rejection) is still
// one line and exit 1, never a stack trace.
const fail = (error: unknown) => {
  process.stderr.write(`${explain(error, process.env.DARKROOM_URL ?? DEFAULT_URL).message}\n`)
  process.exit(1)
}
process.on('unhandledRejection', fail)
process.on('uncaughtException', fail)

// `npm run example -- <command>`; everything is in run.ts, which tests can call too.
process.exit(await run(process.argv.slice(2)))
