#!/usr/bin/env node
// `npm run audit`: the npm advisory check of the packages that ship (`--omit=dev`), failing on a
// high or critical advisory. A registry that does not answer the advisory endpoint (a mirror
// answers 405, a network without it) is reported as "advisory service unavailable" and does not
// fail the run: only a real advisory does. `--from <file>` classifies a saved
// `npm audit --json` output instead of asking the registry.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const FAILING = ['high', 'critical']
const TIMEOUT_MS = 60_000

const from = process.argv.indexOf('--from')
let output
if (from !== -1) {
  output = readFileSync(process.argv[from + 1], 'utf8')
} else {
  const run = spawnSync(
    'npm',
    ['audit', '--omit=dev', '--audit-level=high', '--json', '--no-fund', '--no-update-notifier'],
    { encoding: 'utf8', timeout: TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
  )
  if (run.error) unavailable(run.error.message)
  output = run.stdout
}

let report
try {
  report = JSON.parse(output)
} catch {
  unavailable('npm audit printed no report')
}

// npm prints the registry's refusal as the report: `{ message, statusCode, ... }` or `{ error }`.
if (!report.metadata) {
  const refusal = report.message || report.error?.summary || report.error?.code || 'no report'
  unavailable(String(refusal).split('\n')[0])
}

const counts = report.metadata?.vulnerabilities ?? {}
const found = Object.values(report.vulnerabilities ?? {}).filter((v) =>
  FAILING.includes(v.severity),
)
const summary = Object.entries(counts)
  .filter(([severity, n]) => severity !== 'total' && n > 0)
  .map(([severity, n]) => `${n} ${severity}`)
  .join(', ')
const deps = report.metadata?.dependencies?.prod ?? report.metadata?.dependencies?.total ?? '?'
if (found.length === 0) {
  console.log(`npm audit: no high or critical advisory in ${deps} production dependencies`)
  if (summary) console.log(`  (below the bar: ${summary})`)
  process.exit(0)
}
console.error(`npm audit: ${found.length} package(s) with a high or critical advisory:`)
for (const v of found) {
  const via = v.via
    .map((x) => (typeof x === 'string' ? x : `${x.title} (${x.url ?? x.source})`))
    .join('; ')
  const fix = v.fixAvailable ? 'fix available' : 'no fix yet'
  console.error(`  - ${v.name} ${v.range} [${v.severity}]: ${via}; ${fix}`)
}
process.exit(1)

function unavailable(reason) {
  console.log(`npm audit: advisory service unavailable (${reason}); nothing checked`)
  process.exit(0)
}
