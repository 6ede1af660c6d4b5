/**
 * Method + path patterns (`/api/v1/photos/:guid`), matched segment by segment and case
 * sensitively. A path that matches a pattern under another method is reported with the methods
 * it allows (a 405), so a route table never falls through to "not found" for a known path.
 */

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export interface TableRoute<H> {
  method: Method | readonly Method[]
  /** `/api/images/:page`; a `:name` segment matches one non-empty segment. */
  path: string
  handle: H
}

export type TableMatch<H> =
  | { kind: 'found'; handle: H; params: Record<string, string>; pattern: string }
  | { kind: 'method'; allow: Method[] }
  | null

interface Compiled<H> {
  methods: readonly Method[]
  segments: string[]
  pattern: string
  handle: H
}

export interface RouteTable<H> {
  match(method: string, path: string): TableMatch<H>
  /** Every pattern, for `owns` checks and docs. */
  readonly patterns: readonly string[]
}

export function createRouteTable<H>(routes: readonly TableRoute<H>[]): RouteTable<H> {
  const compiled: Compiled<H>[] = routes.map((route) => {
    if (!route.path.startsWith('/')) throw new TypeError(`route ${route.path} must start with /`)
    const methods = typeof route.method === 'string' ? [route.method] : route.method
    return { methods, segments: split(route.path), pattern: route.path, handle: route.handle }
  })
  return {
    patterns: compiled.map((c) => c.pattern),
    match(method, path) {
      const segments = split(path)
      if (!segments) return null
      const upper = method === 'HEAD' ? 'GET' : method
      const allow = new Set<Method>()
      for (const route of compiled) {
        const params = matchSegments(route.segments, segments)
        if (!params) continue
        if (route.methods.includes(method as Method) || route.methods.includes(upper as Method)) {
          return { kind: 'found', handle: route.handle, params, pattern: route.pattern }
        }
        for (const m of route.methods) allow.add(m)
      }
      return allow.size > 0 ? { kind: 'method', allow: [...allow] } : null
    },
  }
}

function split(path: string): string[] {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
  return trimmed.split('/').slice(1)
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | null {
  if (pattern.length !== actual.length) return null
  const params: Record<string, string> = {}
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!
    const a = actual[i]!
    if (p.startsWith(':')) {
      if (a === '') return null
      let value: string
      try {
        value = decodeURIComponent(a)
      } catch {
        return null
      }
      params[p.slice(1)] = value
    } else if (p !== a) return null
  }
  return params
}
