/**
 * `npm run bench` runs every benchmark; `npm run bench -- <name>` runs one. Each prints a table
 * (median, min, max, unit, ratio to its same-run baseline, conditions) and writes
 * bench/results/<name>.json. Benchmarks never run in the test suite.
 */
const benches: Record<string, () => Promise<unknown>> = {
  ingest: async () => (await import('./ingest.js')).run(),
  listing: async () => (await import('./listing.js')).run(),
  reorder: async () => (await import('./reorder.js')).run(),
  start: async () => (await import('./start.js')).run(),
  upload: async () => (await import('./upload.js')).run(),
  images: async () => (await import('./images.js')).run(),
  wedding: async () => (await import('./wedding.js')).run(),
}

const wanted = process.argv.slice(2).filter((arg) => arg !== '--quick')
const unknown = wanted.filter((w) => !(w in benches))
if (unknown.length > 0) {
  console.error(
    `unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}`,
  )
  process.exit(2)
}
for (const name of wanted.length > 0 ? wanted : Object.keys(benches)) {
  await benches[name]!()
}
