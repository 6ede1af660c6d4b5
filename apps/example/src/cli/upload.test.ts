import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  makeNoiseJpeg,
  PDF_BYTES,
  startServer,
  type TestServer,
} from '../../../server/src/testing/harness.js'
import { runCli, startCli } from '../testing/cli.js'

/**
 * `upload <folder>` against a real server: interrupted mid-way (SIGKILL, and separately
 * Ctrl-C), run again, every file arrives exactly once and the partial one resumes from the
 * server's offset. Small chunks (64 KiB) make the window to interrupt in wide enough.
 */

let server: TestServer
let key: string
let folders: string[] = []
const images: Buffer[] = []
const FILES = 6

beforeAll(async () => {
  server = await startServer({ env: { MAX_FILE_MB: '2' } })
  key = await server.key('cli-upload')
  for (let i = 0; i < FILES; i++) images.push(await makeNoiseJpeg(1100, 800, 100 + i))
})
afterAll(async () => {
  await server.close()
  for (const folder of folders) await rm(folder, { recursive: true, force: true })
})

async function folderOf(files: Record<string, Buffer>): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'darkroom-cli-upload-'))
  folders.push(folder)
  for (const [name, data] of Object.entries(files)) await writeFile(join(folder, name), data)
  return folder
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')
const names = Array.from({ length: FILES }, (_, i) => `photo-${i + 1}.jpg`)

/** Per file: uploaded in this output, and the highest acknowledged percentage seen. */
function parseRun(stdout: string) {
  const uploaded = new Set<string>()
  const acked = new Map<string, number>()
  for (const line of stdout.split('\n')) {
    const done = /^uploaded\s+(\S+)/.exec(line)
    if (done) uploaded.add(done[1]!)
    const ack = /^\s+(\S+)\s+(\d+)%\s.*acknowledged$/.exec(line)
    if (ack) acked.set(ack[1]!, Math.max(acked.get(ack[1]!) ?? 0, Number(ack[2])))
  }
  return { uploaded, acked }
}

/** Some file is finished and another is part-way (server acknowledged 10-60 % of it). */
function finishedAndPartial(stdout: string): boolean {
  const { uploaded, acked } = parseRun(stdout)
  return uploaded.size >= 1 && [...acked].some(([n, p]) => !uploaded.has(n) && p <= 60)
}

async function albumContents(title: string) {
  const client = server.client(key)
  const album = (await client.albums.list.query()).find((a) => a.title === title)
  expect(album, `album ${title}`).toBeDefined()
  const page = await client.photos.list.query({ albumId: album!.id, limit: 200 })
  return page.items
}

describe.each(['SIGKILL', 'SIGINT'] as const)(
  'upload interrupted by %s, then run again',
  (signal) => {
    it('resumes the partial file and every file arrives exactly once', async () => {
      const folder = await folderOf(Object.fromEntries(names.map((n, i) => [n, images[i]!])))
      const title = `Resume ${signal}`
      const args = ['upload', folder, '--album', title, '--chunk-size', '64KiB', '--parallel', '2']

      const first = startCli(args, { url: server.url, key })
      const seen = await first.waitFor(finishedAndPartial)
      first.child.kill(signal)
      const firstResult = await first.done
      const { uploaded: firstUploaded, acked } = parseRun(firstResult.stdout)
      const partial = [...acked.keys()].filter((n) => !firstUploaded.has(n))
      expect(partial.length, seen).toBeGreaterThan(0)
      expect(firstUploaded.size).toBeLessThan(FILES)

      if (signal === 'SIGINT') {
        // Stopped cleanly: exit 130 and a list of what is left, with the partial offsets.
        expect(firstResult.code, firstResult.stdout + firstResult.stderr).toBe(130)
        expect(firstResult.stdout).toContain('Interrupted. Left for the next run')
        expect(firstResult.stdout).toMatch(/^ {2}\S+\s+at \d+(\.\d+)? [KM]iB of /m)
      } else {
        expect(firstResult.signal).toBe('SIGKILL')
      }

      const second = await runCli(args, { url: server.url, key })
      expect(second.code, second.stdout + second.stderr).toBe(0)
      // Files finished in the first run are not sent again.
      for (const name of firstUploaded) {
        expect(second.stdout).toMatch(new RegExp(`^skipped\\s+${name}\\s+uploaded earlier`, 'm'))
        expect(second.stdout).not.toMatch(new RegExp(`^start\\s+${name}\\s`, 'm'))
      }
      // At least one partial file resumed from the server's offset instead of starting over.
      const resumed = partial.filter((name) =>
        new RegExp(`^resume\\s+${name}\\s+at \\d`, 'm').test(second.stdout),
      )
      expect(resumed.length, second.stdout).toBeGreaterThan(0)
      for (const name of resumed) {
        expect(second.stdout).toMatch(
          new RegExp(`^uploaded\\s+${name}\\s.*(resumed at|finished)`, 'm'),
        )
      }
      expect(second.stdout).toMatch(/^Summary: .* 0 refused, 0 failed/m)

      // Every file exactly once, with its own bytes.
      const photos = await albumContents(title)
      expect(photos.map((p) => p.filename).sort()).toEqual([...names].sort())
      expect(new Set(photos.map((p) => p.checksum))).toEqual(new Set(images.map(sha256)))

      // A third run has nothing left to do.
      const third = await runCli(args, { url: server.url, key })
      expect(third.code).toBe(0)
      expect(third.stdout).toMatch(
        new RegExp(`^Summary: 0 uploaded, ${FILES} uploaded earlier`, 'm'),
      )
      const state = JSON.parse(await readFile(join(folder, '.darkroom-upload-state.json'), 'utf8'))
      expect(Object.keys(state)).toEqual([])
    })
  },
)

describe('upload refusals and duplicates', () => {
  it('reports a PDF as refused with its type, a copy as duplicate, and exits 1', async () => {
    const folder = await folderOf({
      'a.jpg': images[0]!,
      'b-copy-of-a.jpg': images[0]!,
      'notes.pdf': PDF_BYTES,
    })
    const args = ['upload', folder, '--album', 'Refusals', '--parallel', '1']
    const first = await runCli(args, { url: server.url, key })
    expect(first.code, first.stdout + first.stderr).toBe(1)
    expect(first.stdout).toMatch(/^uploaded\s+a\.jpg\s+-> \S+/m)
    expect(first.stdout).toMatch(/^duplicate\s+b-copy-of-a\.jpg\s+same bytes as/m)
    expect(first.stdout).toMatch(/^refused\s+notes\.pdf\s+invalid_type: .*"application\/pdf"/m)
    expect(first.stdout).toMatch(
      /^Summary: 1 uploaded, 0 uploaded earlier, 1 duplicate, 1 refused/m,
    )
    expect(await albumContents('Refusals')).toHaveLength(1)

    const again = await runCli(args, { url: server.url, key })
    expect(again.code).toBe(1)
    expect(again.stdout).toMatch(/^skipped\s+a\.jpg\s+uploaded earlier/m)
    expect(again.stdout).toMatch(/^refused\s+notes\.pdf\s+invalid_type/m)
  })

  it('lists a file over the size limit and one over the album cap with the server’s reason', async () => {
    const client = server.client(key)
    await client.albums.create.mutate({ title: 'Capped', photoCap: 1 })
    const folder = await folderOf({
      'a.jpg': images[2]!,
      'b.jpg': images[3]!,
      'huge.jpg': await makeNoiseJpeg(1800, 1500, 9), // about 2.4 MB, over MAX_FILE_MB=2
    })
    const result = await runCli(['upload', folder, '--album', 'Capped', '--parallel', '1'], {
      url: server.url,
      key,
    })
    expect(result.code, result.stdout + result.stderr).toBe(1)
    expect(result.stdout).toMatch(/^uploaded\s+a\.jpg\s/m)
    expect(result.stdout).toMatch(/^refused\s+b\.jpg\s+\S+: .*cap/im)
    expect(result.stdout).toMatch(/^refused\s+huge\.jpg\s+\S+: .*too large/im)
    expect(await albumContents('Capped')).toHaveLength(1)
  })

  it('says so when the key is missing or refused', async () => {
    const folder = await folderOf({ 'a.jpg': images[1]! })
    const missing = await runCli(['upload', folder], { url: server.url, key: null })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/No API key: set DARKROOM_KEY/)
    const refused = await runCli(['upload', folder], { url: server.url, key: 'sk_wrong' })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/refused the API key \(401\)/)
  })
})

describe('one upload per folder', () => {
  it('a second run while one runs says so in one line and exits 1; the first is unharmed', async () => {
    const folder = await folderOf(Object.fromEntries(names.map((n, i) => [n, images[i]!])))
    const args = ['upload', folder, '--album', 'Twice', '--chunk-size', '64KiB', '--parallel', '2']
    const first = startCli(args, { url: server.url, key })
    await first.waitFor((stdout) => /acknowledged$/m.test(stdout))

    const second = await runCli(args, { url: server.url, key })
    expect(second.code).toBe(1)
    expect(second.stdout).toBe('')
    expect(second.stderr).toMatch(
      /^Another upload of this folder is running \(pid \d+, started \S+\)\. Wait for it to finish \(or stop it\), then run this again\.\n$/,
    )
    expect(second.stderr).toContain(`pid ${first.child.pid}`)

    const done = await first.done
    expect(done.code, done.stdout + done.stderr).toBe(0)
    expect(done.stdout).toMatch(new RegExp(`^Summary: ${FILES} uploaded, .* 0 failed`, 'm'))
    expect(existsSync(join(folder, '.darkroom-upload.lock'))).toBe(false)
    expect(await albumContents('Twice')).toHaveLength(FILES)
  })

  it('takes over the lock of a run that was killed', async () => {
    const folder = await folderOf({ 'a.jpg': images[4]! })
    // A pid that has just exited: the lock's holder is gone.
    const dead = spawnSync(process.execPath, ['-e', '']).pid
    const lock = { pid: dead, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }
    await writeFile(join(folder, '.darkroom-upload.lock'), JSON.stringify(lock))
    const result = await runCli(['upload', folder, '--album', 'Taken over'], {
      url: server.url,
      key,
    })
    expect(result.code, result.stdout + result.stderr).toBe(0)
    expect(existsSync(join(folder, '.darkroom-upload.lock'))).toBe(false)
  })

  it('many small files in parallel never trip over the upload-URL file’s lock', async () => {
    // Before: tus-js-client's own writes collided (ELOCKED) and the run died with a stack.
    const small: Record<string, Buffer> = {}
    for (let i = 0; i < 40; i++) small[`s${i}.jpg`] = await makeNoiseJpeg(200, 150, 500 + i)
    const folder = await folderOf(small)
    const result = await runCli(['upload', folder, '--album', 'Many', '--parallel', '16'], {
      url: server.url,
      key,
    })
    expect(result.stderr).toBe('')
    expect(result.code, result.stdout).toBe(0)
    expect(result.stdout).toMatch(/^Summary: 40 uploaded, .* 0 failed/m)
  })
})
