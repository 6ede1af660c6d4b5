#!/usr/bin/env node
import { run } from './run.js'

// `npm run example -- <command>`; everything is in run.ts, which tests can call too.
process.exit(await run(process.argv.slice(2)))
