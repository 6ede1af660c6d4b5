import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Photo } from '@darkroom/core'
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server'
import { describe, expect, expectTypeOf, it } from 'vitest'
import type { DarkroomErrorData } from '../errors.js'
import type { AppRouter } from './app.js'

type Outputs = inferRouterOutputs<AppRouter>
type Inputs = inferRouterInputs<AppRouter>

// `expectTypeOf` does nothing at run time: the last test type-checks this package's tests
// (`tsconfig.test.json`), so a wrong type here fails the run.
describe('AppRouter types, as a client sees them', () => {
  it('photos.get returns core’s Photo: width is number | null, never any', () => {
    expectTypeOf<Outputs['photos']['get']>().not.toBeAny()
    expectTypeOf<Outputs['photos']['get']['width']>().toEqualTypeOf<number | null>()
    expectTypeOf<Outputs['photos']['get']['takenAt']>().toEqualTypeOf<string | null>()
    expectTypeOf<Outputs['photos']['get']>().toMatchTypeOf<Photo>()
  })

  it('lists, uploads and keys are typed too', () => {
    expectTypeOf<Outputs['photos']['list']['items'][number]['height']>().toEqualTypeOf<
      number | null
    >()
    expectTypeOf<Outputs['photos']['upload']['skipped'][number]['reason']>().not.toBeAny()
    expectTypeOf<Outputs['keys']['create']['key']>().toEqualTypeOf<string>()
    expectTypeOf<Outputs['keys']['list'][number]>().not.toHaveProperty('hash')
    expectTypeOf<Outputs['webhooks']['list'][number]>().not.toHaveProperty('secret')
    expectTypeOf<Outputs['uploads']['status']['state']>().toEqualTypeOf<
      'receiving' | 'processing' | 'ready' | 'failed'
    >()
  })

  it('photos.upload takes FormData; the error shape carries darkroom data', () => {
    expectTypeOf<Inputs['photos']['upload']>().toEqualTypeOf<FormData>()
    expectTypeOf<
      AppRouter['_def']['_config']['$types']['errorShape']['data']['darkroom']
    >().toEqualTypeOf<DarkroomErrorData | null>()
  })
})

describe('type-check of the tests', () => {
  it('tsc -p packages/trpc/tsconfig.test.json passes', () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
    const project = fileURLToPath(new URL('../../tsconfig.test.json', import.meta.url))
    let output = ''
    try {
      execFileSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8', stdio: 'pipe' })
    } catch (error) {
      output = String((error as { stdout?: unknown }).stdout ?? error)
    }
    expect(output).toBe('')
  })
})
