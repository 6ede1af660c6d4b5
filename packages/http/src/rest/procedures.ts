import type { AppRouter } from '@darkroom/trpc'
import type { z } from 'zod'

/**
 * A procedure's schemas, read from the router itself (tRPC v11 keeps every procedure, flat by
 * its dotted path, in `router._def.procedures`; a procedure's `_def` holds its `inputs` parsers
 * and its `output` parser). The REST twin validates nothing on its own: this is how it knows the
 * input's shape for query strings and the OpenAPI document.
 */

export interface ProcedureSchemas {
  type: 'query' | 'mutation' | 'subscription'
  /** The input parser; null when the procedure takes none. */
  input: z.ZodType | null
  output: z.ZodType | null
}

interface ProcedureDef {
  type: ProcedureSchemas['type']
  inputs: unknown[]
  output?: unknown
}

/** Every procedure path of the router (`photos.get`, ...). */
export function procedurePaths(router: AppRouter): string[] {
  return Object.keys(proceduresOf(router))
}

export function schemasOf(router: AppRouter, path: string): ProcedureSchemas {
  const procedure = proceduresOf(router)[path]
  if (!procedure) throw new TypeError(`REST twin: the router has no procedure ${path}`)
  const { type, inputs, output } = procedure._def
  if (inputs.length > 1) {
    throw new TypeError(`REST twin: ${path} chains ${inputs.length} inputs; one is supported`)
  }
  return { type, input: zodOf(path, inputs[0]), output: zodOf(path, output) }
}

function proceduresOf(router: AppRouter): Record<string, { _def: ProcedureDef }> {
  return router._def.procedures as unknown as Record<string, { _def: ProcedureDef }>
}

function zodOf(path: string, parser: unknown): z.ZodType | null {
  if (parser === undefined) return null
  // Duck-typed: the router's zod may be another copy than this package's.
  if (typeof parser === 'object' && parser !== null && '_zod' in parser) return parser as z.ZodType
  throw new TypeError(`REST twin: a parser of ${path} is not a zod schema`)
}
