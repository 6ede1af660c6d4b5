import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeJpeg } from '@darkroom/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../../../server/src/testing/harness.js'
import { runCli } from '../testing/cli.js'

/**
 * Each command of the example CLI once, as a child process against a real server, with its
 * output checked against what the server holds (read through the typed client).
 */

let server: TestServer
let key: string
let folder: string
let ids: Record<string, string>
const ALBUM = 'Lisbon trip'

const cli = (...args: string[]) => runCli(args, { url: server.url, key })

beforeAll(async () => {
  server = await startServer()
  key = await server.key('cli-commands')
  folder = await mkdtemp(join(tmpdir(), 'darkroom-cli-commands-'))
  await writeFile(
    join(folder, 'a-tram.jpg'),
    await makeJpeg({
      width: 640,
      height: 480,
      orientation: 6,
      make: 'FUJIFILM',
      model: 'X100V',
      dateTimeOriginal: '2024:05:17 18:42:07',
      offsetTimeOriginal: '+01:00',
      gps: { lat: 38.7139, lon: -9.1334 },
      seed: 1,
    }),
  )
  await writeFile(join(folder, 'b-river.jpg'), await makeJpeg({ width: 300, height: 200, seed: 2 }))
  await writeFile(
    join(folder, 'c-castle.jpg'),
    await makeJpeg({ width: 200, height: 300, seed: 3 }),
  )
  const upload = await cli('upload', folder, '--album', ALBUM)
  expect(upload.code, upload.stdout + upload.stderr).toBe(0)
  ids = Object.fromEntries(
    [...upload.stdout.matchAll(/^uploaded\s+(\S+)\s+-> (\S+)/gm)].map((m) => [m[1]!, m[2]!]),
  )
  expect(Object.keys(ids).sort()).toEqual(['a-tram.jpg', 'b-river.jpg', 'c-castle.jpg'])
})
afterAll(async () => {
  await server.close()
  await rm(folder, { recursive: true, force: true })
})

/** A port nothing listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  return port
}

/** Filenames in the order `list` prints them. */
function listed(stdout: string): string[] {
  return [...stdout.matchAll(/^\S+\s+(\S+\.jpg)\s/gm)].map((m) => m[1]!)
}

describe('the example CLI commands', () => {
  it('albums: a table, and --json', async () => {
    const [text, json] = await Promise.all([cli('albums'), cli('albums', '--json')])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/^ID\s+TITLE\s+PHOTOS\s+CAP\s+CREATED/m)
    expect(text.stdout).toMatch(new RegExp(`^\\S+\\s+${ALBUM}\\s+3\\s+-\\s`, 'm'))
    const albums = JSON.parse(json.stdout) as { title: string; photoCount: number }[]
    expect(albums).toEqual([expect.objectContaining({ title: ALBUM, photoCount: 3 })])
  })

  it('list: by album, sorted both ways, as JSON', async () => {
    // Independent runs, started together to keep the test short.
    const [asc, desc, page, bad, missing] = await Promise.all([
      cli('list', '--album', ALBUM, '--sort', 'filename', '--order', 'asc'),
      cli('list', '--album', ALBUM, '--sort', 'filename', '--order', 'desc'),
      cli('list', '--album', ALBUM, '--json', '--limit', '2'),
      cli('list', '--sort', 'colour'),
      cli('list', '--album', 'Nowhere'),
    ])
    expect(asc.code, asc.stderr).toBe(0)
    expect(listed(asc.stdout)).toEqual(['a-tram.jpg', 'b-river.jpg', 'c-castle.jpg'])
    expect(asc.stdout).toMatch(/^3 of 3$/m)
    // Orientation 6: the stored 640x480 is displayed 480x640.
    expect(asc.stdout).toMatch(/a-tram\.jpg\s+\S+ \S+\s+480x640\s+2024-05-17 18:42:07/)
    expect(listed(desc.stdout)).toEqual(['c-castle.jpg', 'b-river.jpg', 'a-tram.jpg'])
    const json = JSON.parse(page.stdout)
    expect(json.items).toHaveLength(2)
    expect(json.total).toBe(3)
    expect(json.nextCursor).toEqual(expect.any(String))

    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--sort is one of uploaded, taken, filename, size, rating, position/)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/No album is called or has the id "Nowhere"/)
  })

  it('show: dimensions, orientation, date, camera, GPS with a map link, variant URLs', async () => {
    const id = ids['a-tram.jpg']!
    const [shown, asJson, gone] = await Promise.all([
      cli('show', id),
      cli('show', id, '--json'),
      cli('show', '00000000-0000-7000-8000-000000000000'),
    ])
    expect(shown.code, shown.stderr).toBe(0)
    const out = shown.stdout
    expect(out).toMatch(/^dimensions\s+480 x 640 as displayed, ratio 0\.750$/m)
    expect(out).toMatch(/^orientation\s+6 \(rotated 90° CW\)$/m)
    expect(out).toMatch(/^taken\s+2024-05-17T18:42:07\+01:00$/m)
    expect(out).toMatch(/^camera\s+FUJIFILM X100V$/m)
    expect(out).toMatch(
      /^gps\s+38\.71390\d, -9\.13340\d\s+https:\/\/www\.openstreetmap\.org\/\?mlat=38\.71/m,
    )
    for (const variant of ['original', 'small', 'medium', 'large']) {
      expect(out).toMatch(
        new RegExp(`^  ${variant}\\s+${server.url}/photos/${id}/${variant}\\.\\w+`, 'm'),
      )
    }
    const json = JSON.parse(asJson.stdout)
    expect(json).toMatchObject({ id, width: 480, height: 640, orientation: 6 })

    expect(gone.code).toBe(1)
    expect(gone.stderr).toMatch(/^NOT_FOUND \(404\): /)
  })

  it('reorder: --before and --after move one photo in the album order', async () => {
    const client = server.client(key)
    const albumId = (await client.photos.get.query({ id: ids['a-tram.jpg']! })).albumId!
    const byPosition = async () =>
      (await client.photos.list.query({ albumId, sort: 'position', order: 'asc' })).items.map(
        (p) => p.filename,
      )
    const before = await byPosition()
    expect(before).toHaveLength(3)
    const [first, , last] = before
    const moved = await cli('reorder', ids[last!]!, '--before', ids[first!]!)
    expect(moved.code, moved.stderr).toBe(0)
    expect(moved.stdout).toContain(`Moved ${ids[last!]} (${last}) before ${ids[first!]}`)
    expect(await byPosition()).toEqual([last, first, before[1]])
    const back = await cli('reorder', ids[last!]!, '--after', ids[before[1]!]!)
    expect(back.code).toBe(0)
    expect(await byPosition()).toEqual(before)
    const both = await cli('reorder', ids[last!]!)
    expect(both.code).toBe(2)
  })

  it('hide and unhide', async () => {
    const id = ids['b-river.jpg']!
    const hidden = await cli('hide', id)
    expect(hidden.code).toBe(0)
    expect(hidden.stdout).toContain(`Hidden: ${id} (b-river.jpg)`)
    expect((await server.client(key).photos.get.query({ id })).hidden).toBe(true)
    expect(listed((await cli('list', '--album', ALBUM, '--hidden')).stdout)).toEqual([
      'b-river.jpg',
    ])
    const shown = await cli('unhide', id)
    expect(shown.stdout).toContain(`Visible again: ${id}`)
    expect((await server.client(key).photos.get.query({ id })).hidden).toBe(false)
  })

  it('repair-dimensions keeps a manual fix, and re-reads it with --override-manual', async () => {
    const id = ids['c-castle.jpg']!
    const client = server.client(key)
    await client.photos.update.mutate({ id, width: 1, height: 1 })
    const kept = await cli('repair-dimensions')
    expect(kept.code, kept.stderr).toBe(0)
    expect(kept.stdout).toMatch(
      /^Scanned 2 photos: 0 repaired, 0 failed\. 1 kept as set by hand \(--override-manual re-reads them\)\.$/m,
    )
    expect(await client.photos.get.query({ id })).toMatchObject({ width: 1, height: 1 })
    const repaired = await cli('repair-dimensions', '--override-manual')
    expect(repaired.code, repaired.stderr).toBe(0)
    expect(repaired.stdout).toMatch(/^Scanned 3 photos: 1 repaired, 0 failed\.$/m)
    expect(await client.photos.get.query({ id })).toMatchObject({ width: 200, height: 300 })
  })

  it('delete: to the trash, then --hard', async () => {
    const id = ids['b-river.jpg']!
    const soft = await cli('delete', id)
    expect(soft.code).toBe(0)
    expect(soft.stdout).toContain(`Moved ${id} to the trash`)
    const trashed = await server.client(key).photos.list.query({})
    expect(trashed.items.map((p) => p.id)).not.toContain(id)
    const hard = await cli('delete', id, '--hard')
    expect(hard.code, hard.stderr).toBe(0)
    expect(hard.stdout).toContain(`Deleted ${id} for good`)
    await expect(server.client(key).photos.get.query({ id })).rejects.toThrow(/not found/i)
  })

  it('explains an unreachable server, a missing key and a bad command', async () => {
    const port = await freePort()
    const [down, noKey, flagKey, unknown] = await Promise.all([
      runCli(['albums'], { url: `http://127.0.0.1:${port}`, key }),
      runCli(['albums'], { url: server.url }),
      runCli(['albums', '--key', key, '--url', server.url]),
      cli('frobnicate'),
    ])
    expect(down.code).toBe(1)
    expect(down.stderr).toContain(
      `Cannot reach the Darkroom server at http://127.0.0.1:${port} (ECONNREFUSED)`,
    )
    expect(noKey.code).toBe(1)
    expect(noKey.stderr).toMatch(/No API key/)
    expect(flagKey.code).toBe(0)
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/Unknown command "frobnicate"/)
  })
})
