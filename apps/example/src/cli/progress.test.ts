import { describe, expect, it } from 'vitest'
import type { Output } from './context.js'
import { UploadProgress } from './progress.js'

function capture(isTTY: boolean) {
  let text = ''
  const output: Output = {
    isTTY,
    columns: 100,
    line: (t = '') => void (text += `${t}\n`),
    error: (t) => void (text += `${t}\n`),
    write: (t) => void (text += t),
  }
  return { output, text: () => text }
}

const MiB = 1024 * 1024

describe('UploadProgress', () => {
  it('renders a bar per file and a total with bytes, rate and ETA', () => {
    const { output } = capture(true)
    let now = 0
    const progress = new UploadProgress({
      output,
      totalBytes: 10 * MiB,
      totalFiles: 2,
      now: () => now,
    })
    progress.start('a.jpg', 4 * MiB)
    progress.start('b.jpg', 6 * MiB, 2 * MiB) // resumed: 2 MiB were on the server already
    now = 2_000
    progress.update('a.jpg', 2 * MiB)
    progress.update('b.jpg', 4 * MiB)
    const [a, b, total] = progress.render()
    progress.stop()
    // 4 MiB sent in 2 s: 2 MiB/s; 2 + 4 of 10 MiB done, 4 left: 2 s.
    expect(a).toMatch(
      /^a\.jpg\s+\[#{10}-{10}\]\s+50%\s+2\.00 MiB\/4\.00 MiB\s+1\.00 MiB\/s\s+ETA 2s$/,
    )
    expect(b).toMatch(
      /^b\.jpg\s+\[#{13}-{7}\]\s+66%\s+4\.00 MiB\/6\.00 MiB\s+1\.00 MiB\/s\s+ETA 2s$/,
    )
    expect(total).toMatch(
      /^total 0\/2\s+\[#{12}-{8}\]\s+60%\s+6\.00 MiB\/10\.0 MiB\s+2\.00 MiB\/s\s+ETA 2s$/,
    )
  })

  it('prints plain lines when stdout is not a terminal', () => {
    const { output, text } = capture(false)
    let now = 0
    const progress = new UploadProgress({
      output,
      totalBytes: 4 * MiB,
      totalFiles: 1,
      now: () => now,
    })
    progress.start('a.jpg', 4 * MiB)
    progress.resumed('a.jpg', MiB)
    now = 1_000
    progress.update('a.jpg', 3 * MiB)
    progress.acknowledged('a.jpg', 3 * MiB)
    progress.finish('a.jpg', 4 * MiB, 'uploaded   a.jpg')
    progress.stop()
    expect(text().split('\n')).toEqual([
      'start   a.jpg  4.00 MiB',
      'resume  a.jpg  at 1.00 MiB of 4.00 MiB (25%)',
      '        a.jpg  75%  3.00 MiB of 4.00 MiB acknowledged',
      'uploaded   a.jpg',
      '        total (1/1)  100%  4.00 MiB of 4.00 MiB  2.00 MiB/s  ETA 0s',
      '',
    ])
    expect(text()).not.toContain('\x1b[')
  })
})
