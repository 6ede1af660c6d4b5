import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startChild, SERVER_MAIN } from './children.js'
import { measure, printTable, size, writeJson, type Row } from './lib.js'

/**
 * Start: what `npm start` runs (`node apps/server/dist/main.bundle.js`, built by `npm install`) from
 * spawn to the first 200 from `/healthz`, on a first start (empty DATA_DIR: migrations, the
 * admin key) and on a restart (same DATA_DIR). The baseline in the same run is a bare Node
 * http server answering 200, spawned the same way: the floor of any Node server's start.
 */
const RUNS = size('RUNS', 7, 1)
const BARE = `require('node:http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { console.log('listening on http://127.0.0.1:' + this.address().port) })`

async function startToHealthy(args: string[], env: Record<string, string>): Promise<number> {
  const start = performance.now()
  const child = await startChild(args, env)
  try {
    for (;;) {
      const res = await fetch(`${child.url}/healthz`).catch(() => null)
      if (res?.status === 200) {
        await res.arrayBuffer()
        return performance.now() - start
      }
      await new Promise((r) => setTimeout(r, 5))
    }
  } finally {
    await child.stop('SIGKILL')
  }
}

export async function run(): Promise<Row[]> {
  const rows: Row[] = []
  const conditions = `${RUNS} runs, spawn → first 200 from /healthz`
  const bare = await measure(RUNS, () => startToHealthy(['-e', BARE], {}))
  rows.push({ name: 'bare node http server (baseline)', unit: 'ms', ...bare, conditions })
  const dirs: string[] = []
  const first = await measure(RUNS, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'darkroom-bench-start-'))
    dirs.push(dir)
    return startToHealthy([SERVER_MAIN], { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dir })
  })
  rows.push({
    name: 'npm start, first start (empty DATA_DIR)',
    unit: 'ms',
    ...first,
    ratio: first.median / bare.median,
    conditions: `${conditions}; migrations, signing secret and admin key created`,
  })
  const again = await measure(RUNS, () =>
    startToHealthy([SERVER_MAIN], { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dirs[0]! }),
  )
  rows.push({
    name: 'npm start, restart (existing DATA_DIR)',
    unit: 'ms',
    ...again,
    ratio: again.median / bare.median,
    conditions,
  })
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
  printTable('start: spawn to healthy (lower is better; ratio = darkroom / bare server)', rows)
  writeJson('start', rows)
  return rows
}
