#!/usr/bin/env node
// The server `npm start` runs, as one file: apps/server/dist/main.bundle.js, built from the
// sources by `npm run build` (and so by `npm install`'s prepare).
//
// Why: a start spent most of its time in Node's module loader, resolving, reading and compiling
// some 670 files one by one (kysely alone is 262, zod 95), not running them. One file of the same
// code cuts spawn-to-healthy roughly in half (see bench/start.ts and the README's Performance
// table). The code is the same: `@darkroom/*` come from their sources (`src/`, the way the tests
// see them), dependencies from node_modules, nothing minified, with a source map.
//
// Left outside, loaded from node_modules at run time as before: packages with a native binding
// or that find their own files by path (sharp, better-sqlite3, pino's worker transports,
// swagger-ui-dist, libheif-js), and the drivers only Postgres or S3 need (pg, pg-boss, the AWS
// SDK), which `import()` loads on demand. Imports the server makes with `import()` (sharp, exifr,
// file-type, the Postgres and S3 adapters) stay lazy: esbuild evaluates their modules on the
// first call only.
//
// Usage: node apps/server/scripts/bundle.mjs [outdir]
import { readFileSync } from 'node:fs'
import { mkdir, readdir, rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const SERVER = join(dirname(fileURLToPath(import.meta.url)), '..')
const PACKAGES = join(SERVER, '..', '..', 'packages')

export const EXTERNAL = [
  'sharp',
  'better-sqlite3',
  'pino',
  'pino-pretty',
  'swagger-ui-dist',
  'libheif-js',
  'pg',
  'pg-native',
  'pg-boss',
  '@aws-sdk/*',
  '@tus/s3-store',
]

/**
 * `@darkroom/<name>[/<entry>]` → that package's source file for the entry its package.json
 * exports (`./dist/x.js` there is `./src/x.ts` here).
 */
const workspaceSources = {
  name: 'darkroom-sources',
  setup(builder) {
    builder.onResolve({ filter: /^@darkroom\// }, (args) => {
      const [, name, entry = ''] = /^@darkroom\/([^/]+)(\/.*)?$/.exec(args.path)
      const root = join(PACKAGES, name)
      const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
      const target = manifest.exports?.[`.${entry}`]?.default
      if (!target)
        return { errors: [{ text: `${args.path} is not exported by @darkroom/${name}` }] }
      const source = target.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts')
      return { path: join(root, source) }
    })
  },
}

/**
 * Builds the bundle into `outdir` (default apps/server/dist): `main.bundle.js`, and beside it a
 * `bundle-*.js` chunk for each module the server loads with `import()`, so that what such a
 * module imports from node_modules (the AWS SDK, pg) is loaded with it, not at start. Beside
 * dist's other modules, so `import.meta.url` finds the same neighbours (the web gallery). Resolves
 * with the entry's path.
 */
export async function bundleServer(outdir = join(SERVER, 'dist')) {
  const target = resolve(outdir)
  // Chunks are named by their content: those of an earlier build would pile up.
  await mkdir(target, { recursive: true })
  for (const file of await readdir(target)) {
    if (/^(main\.bundle|bundle-.*)\.js(\.map)?$/.test(file)) await rm(join(target, file))
  }
  await build({
    entryPoints: { main: join(SERVER, 'src', 'main.ts') },
    outdir: target,
    entryNames: '[name].bundle',
    chunkNames: 'bundle-[name]-[hash]',
    splitting: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    external: EXTERNAL,
    plugins: [workspaceSources],
    // The CommonJS dependencies inside an ES module still call `require` for Node's built-ins.
    banner: {
      js: "import { createRequire as __bundleRequire } from 'node:module'\nconst require = __bundleRequire(import.meta.url)",
    },
    logLevel: 'warning',
  })
  return join(target, 'main.bundle.js')
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outfile = await bundleServer(process.argv[2])
  console.log(`bundled ${outfile}`)
}
