import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'

/**
 * Quick mode (`npm run bench -- --quick`, or BENCH_QUICK=1): every benchmark with tiny sizes and
 * one or two runs, a few seconds each, so CI keeps the benchmarks working. Its figures mean nothing.
 */
export const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1'

/** `full` normally, `quick` in quick mode; an environment variable `name` overrides both. */
export function size(name: string, full: number, quick: number): number {
  const fromEnv = process.env[name]
  return fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : QUICK ? quick : full
}

/** One measured case: several runs of `fn`, reported as median/min/max. */
export interface Row {
  name: string
  unit: string
  median: number
  min: number
  max: number
  /** median / baseline median (for a rate: higher is better). */
  ratio?: number
  peakRssMb?: number
  conditions: string
}

export interface Stats {
  median: number
  min: number
  max: number
}

/** Median, min and max of `values`; with `maxAt` (e.g. 0.99), that percentile as `max`. */
export function stats(values: readonly number[], maxAt = 1): Stats {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
  return { median: at(0.5), min: sorted[0]!, max: at(maxAt) }
}

export async function measure(runs: number, fn: () => Promise<number>): Promise<Stats> {
  const values: number[] = []
  for (let i = 0; i < runs; i++) values.push(await fn())
  return stats(values)
}

/** Samples the process RSS while `fn` runs; returns its result and the peak in MB. */
export async function withPeakRss<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; peakRssMb: number }> {
  let peak = process.memoryUsage.rss()
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss())
  }, 20)
  try {
    const result = await fn()
    peak = Math.max(peak, process.memoryUsage.rss())
    return { result, peakRssMb: Math.round(peak / 1024 / 1024) }
  } finally {
    clearInterval(timer)
  }
}

export function printTable(title: string, rows: Row[]) {
  console.log(`\n## ${title}`)
  console.log(
    `machine: ${cpus().length} cores, ${cpus()[0]?.model ?? '?'}, node ${process.version}`,
  )
  const header = ['case', 'median', 'min', 'max', 'unit', 'ratio', 'peak RSS MB', 'conditions']
  const lines = rows.map((r) => [
    r.name,
    fmt(r.median),
    fmt(r.min),
    fmt(r.max),
    r.unit,
    r.ratio === undefined ? '' : `${fmt(r.ratio)}x`,
    r.peakRssMb === undefined ? '' : String(r.peakRssMb),
    r.conditions,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  console.log(row(header))
  console.log(row(widths.map((w) => '-'.repeat(w))))
  for (const l of lines) console.log(row(l))
}

export function writeJson(name: string, rows: Row[]) {
  const dir = join(import.meta.dirname, 'results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}.json`)
  writeFileSync(
    file,
    JSON.stringify({ name, at: new Date().toISOString(), node: process.version, rows }, null, 2),
  )
  console.log(`written: bench/results/${name}.json`)
}

function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)
}
