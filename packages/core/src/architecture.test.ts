import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * Core's rules (`services/`), pure logic (`domain/`) and byte-level media code (`media/`) reach
 * the machine only through ports: processes, threads, temp files and the disk belong to the
 * adapters in `node/`. This reads every source file there (tests aside) and fails on an import
 * of a module that would let them do it themselves.
 */
const FORBIDDEN = ['fs', 'fs/promises', 'child_process', 'worker_threads', 'os']
const GUARDED = ['services', 'domain', 'media']

const SPECIFIER = String.raw`['"](?:node:)?(${FORBIDDEN.join('|')})['"]`
const IMPORT = new RegExp(
  [
    String.raw`\bfrom\s*${SPECIFIER}`, // import ... from 'x', export ... from 'x'
    String.raw`\bimport\s*${SPECIFIER}`, // import 'x'
    String.raw`\b(?:import|require)\s*\(\s*${SPECIFIER}\s*\)`, // import('x'), require('x')
  ].join('|'),
  'g',
)

/** The forbidden modules `source` imports, as written (`node:fs`, `os`, ...). */
function forbiddenImports(source: string): string[] {
  return [...source.matchAll(IMPORT)].map((m) => m[0].match(/['"]([^'"]+)['"]/)![1]!)
}

const SRC = fileURLToPath(new URL('.', import.meta.url))

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : []
  })
}

describe('architecture', () => {
  it('the matcher finds every form of a forbidden import and nothing else', () => {
    const sample = [
      `import { readFile } from 'node:fs/promises'`,
      `import { spawn } from "child_process"`,
      `export { tmpdir } from 'node:os'`,
      `import 'node:worker_threads'`,
      `const fs = await import('node:fs')`,
      `const threads = require('node:worker_threads') as typeof import('node:worker_threads')`,
      `import type { Readable } from 'node:stream'`,
      `import { createHash } from 'node:crypto'`,
      `import { osName } from './os.js'`,
      `import { fsx } from 'node:fsx'`,
      `import * as fs from 'fs'`,
    ].join('\n')
    expect(forbiddenImports(sample)).toEqual([
      'node:fs/promises',
      'child_process',
      'node:os',
      'node:worker_threads',
      'node:fs',
      'node:worker_threads',
      'node:worker_threads',
      'fs',
    ])
  })

  it.each(GUARDED)('%s/ imports no fs, child_process, worker_threads or os', (folder) => {
    const files = sourceFiles(join(SRC, folder))
    expect(files.length).toBeGreaterThan(0)
    const found = files.flatMap((file) =>
      forbiddenImports(readFileSync(file, 'utf8')).map((m) => `${relative(SRC, file)}: ${m}`),
    )
    expect(found).toEqual([])
  })
})
