import { execFile } from 'node:child_process'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

/**
 * The type-safety proof of the example client. `type-fixtures/client.test-d.ts` asserts, with
 * `expectTypeOf` and `@ts-expect-error`, that results are inferred from the router and wrong
 * calls do not compile. `expectTypeOf` does nothing at run time, so this test runs `tsc
 * --noEmit` over it, and over two mutants of it, in one compiler run:
 *
 * - `any`: the client typed `any`. Every `expectTypeOf` must fail and every `@ts-expect-error`
 *   must become unused (TS2578), so a client whose types went `any` cannot pass.
 * - `bare`: the `@ts-expect-error` comments removed. Each wrong call must then be an error
 *   on its own line, so the expectations are not satisfied by some unrelated error.
 */

const FIXTURES = fileURLToPath(new URL('./type-fixtures/', import.meta.url))
const FIXTURE = 'client.test-d.ts'
const execFileAsync = promisify(execFile)

interface Diagnostic {
  file: string
  line: number
  code: string
  text: string
}

/**
 * Runs tsc over the fixture tsconfig with these files: names with `{tag}` are written (and
 * removed afterwards) as temporary mutants; the others are fixtures on disk, never written.
 */
async function typeCheck(files: Record<string, string>): Promise<Diagnostic[]> {
  const tag = `${process.pid}-${Date.now()}`
  const written: string[] = []
  const names = Object.keys(files).map((name) => name.replace('{tag}', tag))
  try {
    for (const [i, [name, text]] of Object.entries(files).entries()) {
      if (!name.includes('{tag}')) continue // a fixture as it is on disk
      const path = `${FIXTURES}${names[i]}`
      await writeFile(path, text)
      written.push(path)
    }
    const project = `${FIXTURES}tsconfig.${tag}.tmp.json`
    await writeFile(project, JSON.stringify({ extends: './tsconfig.json', files: names }))
    written.push(project)
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
    let stdout = ''
    try {
      await execFileAsync(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '-p', project])
    } catch (error) {
      stdout = String((error as { stdout?: unknown }).stdout ?? error)
    }
    return [...stdout.matchAll(/^(.+?)\((\d+),\d+\): error (TS\d+): (.*)$/gm)].map((m) => ({
      file: m[1]!.split(/[\\/]/).pop()!.replace(tag, '{tag}'),
      line: Number(m[2]),
      code: m[3]!,
      text: m[4]!,
    }))
  } finally {
    for (const path of written) await rm(path, { force: true })
  }
}

/** 1-based line numbers of the lines right after each `@ts-expect-error` comment. */
function expectedErrorLines(source: string): number[] {
  const lines = source.split('\n')
  return lines.flatMap((line, i) => (isExpectError(line) ? [i + 2] : []))
}

function isExpectError(line: string): boolean {
  return line.trimStart().startsWith('// @ts-expect-error')
}

describe('the typed client (tsc over type-fixtures/)', () => {
  it('infers results from AppRouter and refuses wrong calls; fails when types are any', async () => {
    const source = await readFile(`${FIXTURES}${FIXTURE}`, 'utf8')
    const importLine = "import type { DarkroomClient } from '../client.js'"
    expect(source).toContain(importLine)
    const anyMutant = source.replace(importLine, 'type DarkroomClient = any')
    const bareMutant = source
      .split('\n')
      .map((line) => (isExpectError(line) ? '' : line))
      .join('\n')
    const expected = expectedErrorLines(source)
    expect(expected.length).toBeGreaterThanOrEqual(7)

    const diagnostics = await typeCheck({
      [FIXTURE]: source,
      '.any-{tag}.test-d.ts': anyMutant,
      '.bare-{tag}.test-d.ts': bareMutant,
    })
    const of = (file: string) => diagnostics.filter((d) => d.file === file)

    // The fixture as written compiles: every assertion holds, every wrong call is an error.
    expect(of(FIXTURE)).toEqual([])

    // Typed `any`: every @ts-expect-error is unused, and the type assertions fail.
    const anyErrors = of('.any-{tag}.test-d.ts')
    expect(anyErrors.filter((d) => d.code === 'TS2578').map((d) => d.line)).toEqual(
      expected.map((line) => line - 1),
    )
    const lineOf = (needle: string) => source.split('\n').findIndex((l) => l.includes(needle)) + 1
    const failedAssertions = new Set(
      anyErrors.filter((d) => d.code !== 'TS2578').map((d) => d.line),
    )
    expect(failedAssertions).toContain(lineOf('expectTypeOf(photo).not.toBeAny()'))
    expect(failedAssertions).toContain(lineOf('expectTypeOf(photo.width)'))
    expect(failedAssertions).toContain(lineOf('expectTypeOf(page.total)'))

    // Without the comments, each wrong call is an error on its own line.
    const bareErrors = of('.bare-{tag}.test-d.ts')
    expect([...new Set(bareErrors.map((d) => d.line))].sort((a, b) => a - b)).toEqual(expected)
    const limitLine = lineOf("limit: '50'")
    expect(bareErrors.find((d) => d.line === limitLine)).toMatchObject({
      code: 'TS2322',
      text: expect.stringMatching(/Type 'string' is not assignable to type 'number'/),
    })
    expect(bareErrors.find((d) => d.line === lineOf('client.photos.lst'))?.text).toMatch(
      /Property 'lst' does not exist/,
    )
  })
})
