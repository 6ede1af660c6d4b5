import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, posix, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { makeJpeg } from '@darkroom/core/testing'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * The four public packages as a user gets them. `npm pack` (whose `prepack` builds) makes the
 * tarballs; their file lists are checked (no tests, build info or test-only modules; every
 * source map resolves inside the tarball; the main entries import no optional peer). Then a
 * fresh project outside the monorepo installs the tarballs from npm's cache (`--prefer-offline`)
 * and runs, from there, the embedding example, the READMEs' examples and an Express app that
 * mounts the handler under /media, on a real SQLite file and folder.
 *
 * The install skips install scripts: the only one that matters, better-sqlite3's, compiles
 * SQLite for minutes when no prebuilt binary can be downloaded. Its addon is copied from this
 * checkout's own build instead (same version, same Node), else rebuilt. Without the registry the
 * install tests skip with one line; with it, any failure fails.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url))
const PACKAGES = ['core', 'storage', 'trpc', 'http'] as const
type Name = (typeof PACKAGES)[number]
const OPTIONAL_PEERS = [
  'pg',
  '@types/pg',
  '@aws-sdk/client-s3',
  '@aws-sdk/lib-storage',
  '@tus/s3-store',
]
/** Entries allowed to load an optional peer: the ones named after it. */
const PEER_ENTRIES = new Set(['./postgres', './s3'])
/** Test-only files: none may ship. Core's `testing/index` is the repository's own test kit. */
const TEST_ONLY = [
  /\.tsbuildinfo$/,
  /\.test\.[a-z.]+$/,
  /\.test-(support|utils)\.[a-z.]+$/,
  /(^|\/)testing\/(corpus|photo-model|photo-arbitraries|s3-server)\.[a-z.]+$/,
  /(^|\/)media\/video\/testing\//,
]
const CORE_TEST_ONLY = /^(src|dist)\/testing\/index\.[a-z.]+$/
const REGISTRY_UNREACHABLE = 'npm cannot reach the registry: packed-install tests skipped'

const exec = promisify(execFile)
const run = (file: string, args: string[], cwd: string, timeout = 240_000) =>
  exec(file, args, { cwd, env: childEnv(), timeout, maxBuffer: 64 * 1024 * 1024 })

/**
 * The environment without what an enclosing `npm test -w ...` exported (`npm_config_workspace`,
 * `npm_package_*`, ...), which would send npm's install elsewhere; registry, cache and proxy
 * settings stay.
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep =
    /^npm_config_(registry|cache|userconfig|globalconfig|(https_)?proxy|noproxy|cafile|strict_ssl|fetch_\w+)$/i
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) || keep.test(k)) env[k] = v
  }
  return { ...env, ...extra }
}

interface Packed {
  name: string
  filename: string
  size: number
  unpackedSize: number
  files: { path: string; size: number }[]
}

let work: string
let tarballs: string
const packed = new Map<Name, Packed>()
/** Where each tarball is unpacked (`<dir>/package`). */
const unpacked = new Map<Name, string>()

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'darkroom-packed-'))
  tarballs = join(work, 'tarballs')
  await mkdir(tarballs)
  const workspaces = PACKAGES.flatMap((p) => ['-w', `packages/${p}`])
  const { stdout } = await run(
    'npm',
    ['pack', ...workspaces, '--pack-destination', tarballs, '--json'],
    root,
  )
  const list = JSON.parse(stdout.slice(stdout.indexOf('['))) as Packed[]
  for (const name of PACKAGES) {
    const entry = list.find((p) => p.name === `@darkroom/${name}`)
    if (!entry) throw new Error(`npm pack made no tarball for @darkroom/${name}`)
    packed.set(name, entry)
    const dir = join(work, 'unpacked', name)
    await mkdir(dir, { recursive: true })
    await run('tar', ['-xzf', join(tarballs, entry.filename), '-C', dir], root)
    unpacked.set(name, join(dir, 'package'))
  }
}, 240_000)

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

const manifestOf = (name: Name) =>
  JSON.parse(readFileSync(join(unpacked.get(name)!, 'package.json'), 'utf8')) as {
    exports: Record<string, { types: string; default: string }>
    dependencies?: Record<string, string>
    peerDependencies?: Record<string, string>
    peerDependenciesMeta?: Record<string, { optional?: boolean }>
  }

describe.each(PACKAGES)('the @darkroom/%s tarball', (name) => {
  const paths = () => new Set(packed.get(name)!.files.map((f) => f.path))

  it('holds dist, its sources, README and LICENSE; no tests, build info or test-only modules', () => {
    const files = paths()
    for (const required of ['package.json', 'README.md', 'LICENSE', 'dist/index.js']) {
      expect(files, required).toContain(required)
    }
    const forbidden = [...files].filter(
      (f) => TEST_ONLY.some((re) => re.test(f)) || (name === 'core' && CORE_TEST_ONLY.test(f)),
    )
    expect(forbidden).toEqual([])
    expect([...files].filter((f) => !/^(dist|src)\//.test(f)).sort()).toEqual([
      'LICENSE',
      'README.md',
      'package.json',
    ])
  })

  it('has every output beside its source: no stale dist file, no source without output', () => {
    const files = paths()
    const outputs = [...files].filter((f) => f.startsWith('dist/') && f.endsWith('.js'))
    const sources = [...files].filter((f) => f.startsWith('src/'))
    expect(outputs.filter((f) => !files.has(`src/${f.slice(5, -3)}.ts`))).toEqual([])
    expect(sources.filter((f) => !files.has(`dist/${f.slice(4, -3)}.js`))).toEqual([])
    for (const js of outputs) {
      for (const sibling of ['.d.ts', '.js.map', '.d.ts.map']) {
        expect(files, `${js} without ${sibling}`).toContain(js.slice(0, -3) + sibling)
      }
    }
  })

  it('has source maps that point at files it ships', () => {
    const files = paths()
    const dir = unpacked.get(name)!
    const broken: string[] = []
    for (const file of files) {
      if (/\.(js|d\.ts)$/.test(file)) {
        const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(dir, file), 'utf8'))
        const map = url && posix.join(posix.dirname(file), url[1]!)
        if (!map || !files.has(map)) broken.push(`${file} → ${map}`)
      } else if (file.endsWith('.map')) {
        const { sources, sourceRoot = '' } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
          sources: string[]
          sourceRoot?: string
        }
        for (const source of sources) {
          const target = posix.normalize(posix.join(posix.dirname(file), sourceRoot, source))
          if (!files.has(target)) broken.push(`${file} → ${target}`)
        }
      }
    }
    expect(broken).toEqual([])
  })

  it('exports only files it ships, and its main entries load no optional peer', () => {
    const files = paths()
    const manifest = manifestOf(name)
    for (const [entry, target] of Object.entries(manifest.exports)) {
      expect(files, entry).toContain(target.types.slice(2))
      expect(files, entry).toContain(target.default.slice(2))
      const loaded = importsOf(unpacked.get(name)!, target.default.slice(2))
      const all = [...loaded.static, ...loaded.dynamic]
      const peers = all.filter((s) => OPTIONAL_PEERS.some((p) => isPackage(s, p)))
      if (PEER_ENTRIES.has(entry)) expect(peers, entry).not.toEqual([])
      else expect(peers, entry).toEqual([])
      // vitest (an optional peer) is for the contract suites only; s3rver and fast-check are
      // this repository's own test tools.
      const testTools =
        entry === './testing' ? ['s3rver', 'fast-check'] : ['s3rver', 'fast-check', 'vitest']
      expect(
        all.filter((s) => testTools.some((t) => isPackage(s, t))),
        entry,
      ).toEqual([])
    }
    for (const peer of [...OPTIONAL_PEERS, '@trpc/server']) {
      expect(manifest.dependencies ?? {}, peer).not.toHaveProperty([peer])
    }
    for (const [peer, range] of Object.entries(manifest.peerDependencies ?? {})) {
      const optional = manifest.peerDependenciesMeta?.[peer]?.optional === true
      expect(optional, `${peer}@${range}`).toBe(peer !== '@trpc/server')
    }
    for (const range of Object.values(manifest.dependencies ?? {})) {
      expect(range).not.toMatch(/^(workspace|file|link):/)
    }
  })
})

describe('the project that installs the tarballs', () => {
  let project: string
  let unreachable: string | null = null

  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), 'darkroom-user-'))
    expect(relative(root, project).startsWith('..')).toBe(true)
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'darkroom-user', private: true, type: 'module' }),
    )
    const peers = manifestOf('http').peerDependencies!
    const sharp = manifestOf('core').dependencies!.sharp!
    const specs = [
      ...PACKAGES.map((name) => join(tarballs, packed.get(name)!.filename)),
      `@trpc/server@${peers['@trpc/server']}`,
      `sharp@${sharp}`, // examples/embed.mjs makes its photo with sharp
      'express@5',
    ]
    const flags = ['--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts']
    try {
      await run('npm', ['install', ...specs, ...flags, '--loglevel=error'], project)
    } catch (error) {
      const reachable = await run('npm', ['ping'], project, 30_000).then(
        () => true,
        () => false,
      )
      if (reachable) throw error
      unreachable = REGISTRY_UNREACHABLE
      return
    }
    await installSqliteAddon(project)
  }, 240_000)

  afterAll(async () => {
    if (project) await rm(project, { recursive: true, force: true })
  })

  it('has the packages from the tarballs and no optional peer', ({ skip }) => {
    skip(unreachable !== null, unreachable ?? '')
    const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { resolved?: string }>
    }
    for (const name of PACKAGES) {
      expect(lock.packages[`node_modules/@darkroom/${name}`]?.resolved).toMatch(/^file:/)
    }
    const copies = Object.keys(lock.packages).filter((p) => /node_modules\/@darkroom\//.test(p))
    expect(copies).toHaveLength(PACKAGES.length)
    for (const absent of [...OPTIONAL_PEERS, 's3rver', 'fast-check', 'vitest']) {
      expect(existsSync(join(project, 'node_modules', absent)), absent).toBe(false)
    }
    expect(existsSync(join(project, 'node_modules/@trpc/server/package.json'))).toBe(true)
  })

  it('runs examples/embed.mjs on a SQLite file and a folder', async ({ skip }) => {
    skip(unreachable !== null, unreachable ?? '')
    await copyFile(join(root, 'examples/embed.mjs'), join(project, 'embed.mjs'))
    const dir = join(project, 'embed-data')
    const { stdout } = await exec('node', ['embed.mjs'], {
      cwd: project,
      env: childEnv({ EXAMPLE_DIR: dir }),
      timeout: 60_000,
    })
    expect(stdout).toContain("{ album: 'Wedding', uploaded: 1, skipped: [], total: 1 }")
    expect(stdout).toContain('width: 2000')
    expect(stdout).toContain('height: 3000')
    expect(stdout).toContain("takenAt: '2026-05-12T15:23:11+02:00'")
    expect(existsSync(join(dir, 'darkroom.db'))).toBe(true)
  })

  it('runs the example of the core, storage and trpc READMEs', async ({ skip }) => {
    skip(unreachable !== null, unreachable ?? '')
    const photo = await makeJpeg({ width: 1200, height: 800, orientation: 6 })
    const outputs: Record<string, string> = {}
    for (const name of ['core', 'storage', 'trpc'] as const) {
      const script = join(project, `readme-${name}.mjs`)
      await writeFile(script, firstJsBlock(join(root, 'packages', name, 'README.md')))
      const cwd = join(project, `readme-${name}`)
      await mkdir(cwd)
      await writeFile(join(cwd, 'photo.jpg'), photo)
      outputs[name] = (
        await exec('node', [script], { cwd, env: childEnv(), timeout: 60_000 })
      ).stdout
    }
    expect(outputs.core).toMatch(/^800 1200 \{[^]*original: '\/photos\/[^]*\[\] 1\n$/)
    expect(outputs.storage).toContain("checks: { store: 'ok', blobs: 'ok' }")
    expect(outputs.trpc).toBe('Holiday 1\n')
  })

  it('mounts the handler under /media in Express: healthz and tRPC with an API key', async ({
    skip,
  }) => {
    skip(unreachable !== null, unreachable ?? '')
    const example = await readFile(join(root, 'examples/express.mjs'), 'utf8')
    // The @darkroom/http README shows this very file (from its first import on).
    const readme = await readFile(join(root, 'packages/http/README.md'), 'utf8')
    expect(readme).toContain(example.slice(example.indexOf('import ')))
    await writeFile(join(project, 'express.mjs'), example)

    const child = spawn('node', ['express.mjs'], {
      cwd: project,
      env: childEnv({ PORT: '0', DATA_DIR: join(project, 'express-data') }),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      const { url, key } = await started(child)
      const health = await fetch(`${url}/healthz`)
      expect(health.status).toBe(200)
      expect(await health.json()).toEqual({ ok: true, checks: { database: 'ok', blobs: 'ok' } })
      // Outside /media the app's own routes answer.
      expect(await (await fetch(new URL('/', url))).text()).toContain('My app')

      const create = (headers: Record<string, string>) =>
        fetch(`${url}/trpc/albums.create`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ title: 'Holiday' }),
        })
      expect((await create({})).status).toBe(401)
      const auth = { authorization: `Bearer ${key}` }
      const created = await create(auth)
      expect(created.status).toBe(200)
      const album = ((await created.json()) as { result: { data: { id: string; title: string } } })
        .result.data
      expect(album.title).toBe('Holiday')
      const listed = await fetch(`${url}/trpc/albums.list`, { headers: auth })
      expect(listed.status).toBe(200)
      expect(await listed.json()).toMatchObject({
        result: { data: [{ id: album.id, title: 'Holiday' }] },
      })
    } finally {
      await stop(child)
    }
  })
})

/**
 * The packages a module loads: `static` through its import graph (relative imports followed),
 * `dynamic` the `import('...')` calls with a literal found in that graph.
 */
function importsOf(dir: string, entry: string): { static: Set<string>; dynamic: Set<string> } {
  const found = { static: new Set<string>(), dynamic: new Set<string>() }
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const text = readFileSync(join(dir, file), 'utf8')
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest)
    for (const statement of source.statements) {
      const specifier =
        (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
        statement.moduleSpecifier &&
        ts.isStringLiteral(statement.moduleSpecifier)
          ? statement.moduleSpecifier.text
          : null
      if (specifier === null) continue
      if (specifier.startsWith('.')) visit(posix.join(posix.dirname(file), specifier))
      else found.static.add(specifier)
    }
    const dynamic = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        node.expression.kind === ts.SyntaxKind.ImportKeyword &&
        node.arguments[0] &&
        ts.isStringLiteral(node.arguments[0])
      ) {
        found.dynamic.add(node.arguments[0].text)
      }
      ts.forEachChild(node, dynamic)
    }
    dynamic(source)
  }
  visit(entry)
  return found
}

const isPackage = (specifier: string, name: string) =>
  specifier === name || specifier.startsWith(`${name}/`)

function firstJsBlock(readme: string): string {
  const block = /```js\n([^]*?)```/.exec(readFileSync(readme, 'utf8'))
  if (!block) throw new Error(`${readme} has no js example`)
  return block[1]!
}

/**
 * better-sqlite3's addon, which `--ignore-scripts` left unbuilt: this checkout's own build when
 * the versions match (same Node running both), else `npm rebuild` (downloads or compiles).
 */
async function installSqliteAddon(project: string): Promise<void> {
  const version = (dir: string) =>
    (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version
  const theirs = join(project, 'node_modules/better-sqlite3')
  const ours = join(root, 'node_modules/better-sqlite3')
  const addon = 'build/Release/better_sqlite3.node'
  if (existsSync(join(ours, addon)) && version(ours) === version(theirs)) {
    await mkdir(dirname(join(theirs, addon)), { recursive: true })
    await copyFile(join(ours, addon), join(theirs, addon))
  } else {
    await run('npm', ['rebuild', 'better-sqlite3'], project, 600_000)
  }
}

/** Waits for the example's two lines: its URL and alice's key. */
function started(child: ChildProcess): Promise<{ url: string; key: string }> {
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => reject(new Error(`no start within 30 s: ${out}${err}`)), 30_000)
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()))
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1]
      const key = /API key for alice: (sk_\w+)/.exec(out)?.[1]
      if (url && key) {
        clearTimeout(timer)
        resolve({ url, key })
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`express.mjs exited with ${code}: ${out}${err}`))
    })
  })
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}
