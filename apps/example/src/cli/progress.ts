import type { Output } from './context.js'
import { formatBytes, formatDuration, truncate } from './format.js'

/**
 * Progress of a batch of uploads: one bar per file in flight and one for the whole batch
 * (bytes, rate, ETA). On a terminal the bars are redrawn in place below the log lines; when
 * stdout is not a terminal (a pipe, a test, CI) it prints plain lines instead: when a file
 * starts or resumes, every tenth of a file the server acknowledged, and a total line after each
 * file, so logs stay readable.
 *
 * The rate is measured over the last few seconds from bytes sent in this run only: bytes a
 * resumed upload had already sent count as done, not as speed.
 */

interface FileBar {
  name: string
  size: number
  /** Bytes sent so far (the server's offset after a resume, plus what this run sent). */
  sent: number
  /** Where this run started (a resumed upload's offset). */
  startOffset: number
  /** The last tenth printed in line mode. */
  lastTenth: number
  /** Bytes this run sent of this file, over time, for its own rate. */
  samples: Sample[]
}

interface Sample {
  at: number
  bytes: number
}

export interface ProgressOptions {
  output: Output
  totalBytes: number
  totalFiles: number
  /** Milliseconds clock, for tests. */
  now?: () => number
  /** Width of the bar in characters. */
  barWidth?: number
}

const RATE_WINDOW_MS = 5_000
const REDRAW_MS = 120

export class UploadProgress {
  private readonly output: Output
  private readonly now: () => number
  private readonly barWidth: number
  private readonly bars = new Map<string, FileBar>()
  private readonly samples: Sample[] = []
  private readonly totalBytes: number
  private readonly totalFiles: number
  /** Bytes of files finished or given up (their whole size counts as done for the total). */
  private settledBytes = 0
  private settledFiles = 0
  /** Bytes sent in this run, for the rate. */
  private transferred = 0
  private drawn = 0
  private timer: NodeJS.Timeout | null = null
  private stopped = false

  constructor(options: ProgressOptions) {
    this.output = options.output
    this.now = options.now ?? Date.now
    this.barWidth = options.barWidth ?? 20
    this.totalBytes = options.totalBytes
    this.totalFiles = options.totalFiles
    if (this.output.isTTY) {
      this.timer = setInterval(() => this.draw(), REDRAW_MS)
      this.timer.unref()
    }
  }

  /** A file's upload began (new, or resumed from `offset`). */
  start(name: string, size: number, offset = 0): void {
    this.bars.set(name, {
      name,
      size,
      sent: offset,
      startOffset: offset,
      lastTenth: Math.floor((offset / Math.max(1, size)) * 10),
      samples: [{ at: this.now(), bytes: 0 }],
    })
    if (!this.output.isTTY) {
      this.output.line(
        offset > 0
          ? `resume  ${name}  at ${formatBytes(offset)} of ${formatBytes(size)} (${pct(offset, size)})`
          : `start   ${name}  ${formatBytes(size)}`,
      )
    }
    this.sample()
  }

  /** The server said the upload is at `offset` (a resume): progress restarts from there. */
  resumed(name: string, offset: number): void {
    const bar = this.bars.get(name)
    if (!bar) return
    bar.sent = offset
    bar.startOffset = offset
    bar.lastTenth = Math.floor((offset / Math.max(1, bar.size)) * 10)
    bar.samples.splice(0, bar.samples.length, { at: this.now(), bytes: 0 })
    if (!this.output.isTTY && offset > 0) {
      this.output.line(
        `resume  ${name}  at ${formatBytes(offset)} of ${formatBytes(bar.size)} (${pct(offset, bar.size)})`,
      )
    }
  }

  /** Bytes sent so far for a file (tus `onProgress`). */
  update(name: string, sent: number): void {
    const bar = this.bars.get(name)
    if (!bar || sent < bar.startOffset) return
    const before = bar.sent
    bar.sent = Math.min(sent, bar.size)
    this.transferred += Math.max(0, bar.sent - before)
    this.sample()
    addSample(bar.samples, this.now(), bar.sent - bar.startOffset)
  }

  /** The server acknowledged `accepted` bytes of a file (tus `onChunkComplete`). */
  acknowledged(name: string, accepted: number): void {
    const bar = this.bars.get(name)
    if (!bar || this.output.isTTY) return
    const tenth = Math.floor((accepted / Math.max(1, bar.size)) * 10)
    if (tenth > bar.lastTenth && accepted < bar.size) {
      bar.lastTenth = tenth
      this.output.line(
        `        ${name}  ${pct(accepted, bar.size)}  ${formatBytes(accepted)} of ${formatBytes(bar.size)} acknowledged`,
      )
    }
  }

  /**
   * A file is settled (uploaded, refused or failed): its bar goes, its bytes count as done, and
   * `message` is printed above the bars.
   */
  finish(name: string, size: number, message: string): void {
    this.bars.delete(name)
    this.settledBytes += size
    this.settledFiles++
    this.log(message)
    if (!this.output.isTTY) this.output.line(`        ${this.totalLine()}`)
  }

  /** A file stopped without being settled (interrupted): its bar goes, its bytes do not count. */
  drop(name: string): void {
    this.bars.delete(name)
  }

  /** A line above the bars (or a plain line when not a terminal). */
  log(message: string): void {
    if (!this.output.isTTY) {
      this.output.line(message)
      return
    }
    this.clear()
    this.output.line(message)
    this.draw()
  }

  /** Stops redrawing and leaves the last state of the bars on screen. */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    if (this.output.isTTY) {
      this.clear()
      this.bars.clear()
    }
  }

  /** Bytes per second over the last few seconds; null before there is a measure. */
  rate(): number | null {
    return rateOf(this.samples, 1_000)
  }

  /** Done bytes over the batch: settled files plus what is sent of those in flight. */
  doneBytes(): number {
    let inFlight = 0
    for (const bar of this.bars.values()) inFlight += bar.sent
    return this.settledBytes + inFlight
  }

  /** `total (3/8)  41%  12.0 MiB of 29.3 MiB  2.1 MiB/s  ETA 8s` */
  totalLine(): string {
    const done = this.doneBytes()
    const rate = this.rate()
    const eta = rate && rate > 0 ? (this.totalBytes - done) / rate : null
    return [
      `total (${this.settledFiles}/${this.totalFiles})`,
      pct(done, this.totalBytes),
      `${formatBytes(done)} of ${formatBytes(this.totalBytes)}`,
      rate === null ? '-- /s' : `${formatBytes(rate)}/s`,
      `ETA ${done >= this.totalBytes ? '0s' : formatDuration(eta)}`,
    ].join('  ')
  }

  /** The lines the terminal shows: one per file in flight, then the total. */
  render(): string[] {
    const columns = Math.max(40, this.output.columns)
    const nameWidth = Math.min(28, Math.max(12, Math.floor(columns / 4)))
    const line = (label: string, done: number, total: number, rate: number | null) =>
      truncate(
        [
          truncate(label, nameWidth).padEnd(nameWidth),
          this.bar(done, total),
          pct(done, total).padStart(4),
          `${formatBytes(done)}/${formatBytes(total)}`,
          rate === null ? '-- /s' : `${formatBytes(rate)}/s`,
          `ETA ${done >= total ? '0s' : formatDuration(rate ? (total - done) / rate : null)}`,
        ].join('  '),
        columns - 1,
      )
    const lines = [...this.bars.values()].map((bar) =>
      line(bar.name, bar.sent, bar.size, this.fileRate(bar)),
    )
    lines.push(
      line(
        `total ${this.settledFiles}/${this.totalFiles}`,
        this.doneBytes(),
        this.totalBytes,
        this.rate(),
      ),
    )
    return lines
  }

  private fileRate(bar: FileBar): number | null {
    return rateOf(bar.samples, 250)
  }

  private bar(done: number, total: number): string {
    const filled = Math.round((Math.min(done, total) / Math.max(1, total)) * this.barWidth)
    return `[${'#'.repeat(filled)}${'-'.repeat(this.barWidth - filled)}]`
  }

  private sample(): void {
    addSample(this.samples, this.now(), this.transferred)
  }

  private clear(): void {
    if (this.drawn > 0) this.output.write(`\x1b[${this.drawn}F\x1b[J`)
    this.drawn = 0
  }

  private draw(): void {
    if (!this.output.isTTY || this.stopped) return
    this.sample() // time passes even when no bytes do: the rate decays while waiting
    const lines = this.render()
    this.clear()
    this.output.write(`${lines.join('\n')}\n`)
    this.drawn = lines.length
  }
}

function addSample(samples: Sample[], at: number, bytes: number): void {
  samples.push({ at, bytes })
  while (samples.length > 2 && at - samples[0]!.at > RATE_WINDOW_MS) samples.shift()
}

/** Bytes per second between the oldest and newest sample; null while they span under `minMs`. */
function rateOf(samples: Sample[], minMs: number): number | null {
  const first = samples[0]
  const last = samples[samples.length - 1]
  if (!first || !last || last.at - first.at < minMs) return null
  return ((last.bytes - first.bytes) * 1000) / (last.at - first.at)
}

function pct(done: number, total: number): string {
  return `${total > 0 ? Math.floor((Math.min(done, total) / total) * 100) : 100}%`
}
