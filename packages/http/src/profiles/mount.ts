import type { Caller } from '@darkroom/core'
import { createRouteTable, type RouteTable } from '../api/route-table.js'
import { requireCaller } from '../auth.js'
import { HttpProblem } from '../errors.js'
import type { Profile, ProfileDeps, ProfileRoute } from './profile.js'
import { PROFILES, type ProfileName } from './index.js'

/** A profile by name, or your own, optionally under its own base path (`/social`). */
export type ProfileMount =
  ProfileName | Profile | { profile: ProfileName | Profile; basePath?: string }

export interface MountedProfiles {
  /** The answer when a mounted profile owns `path` (under the handler's base path), else null. */
  dispatch(request: Request, path: string, url: URL): Promise<Response> | null
  owns(path: string): boolean
}

interface Mounted {
  profile: Profile
  base: string
  deps: ProfileDeps
  table: RouteTable<ProfileRoute['handle']>
}

export function mountProfiles(
  mounts: readonly ProfileMount[],
  deps: Omit<ProfileDeps, 'profileBase'>,
): MountedProfiles {
  const mounted: Mounted[] = mounts.map((mount) => {
    const { profile: named, basePath } =
      typeof mount === 'object' && 'profile' in mount ? mount : { profile: mount, basePath: '' }
    const profile: Profile | undefined =
      typeof named === 'string' ? (PROFILES as Record<string, Profile>)[named] : named
    if (!profile) {
      throw new TypeError(
        `createDarkroomHandler: unknown profile ${JSON.stringify(named)}; known: ${Object.keys(PROFILES).join(', ')}`,
      )
    }
    const base = (basePath ?? '').replace(/\/+$/, '')
    if (base !== '' && !base.startsWith('/')) {
      throw new TypeError(`createDarkroomHandler: profile basePath ${base} must start with /`)
    }
    const profileDeps: ProfileDeps = { ...deps, profileBase: base }
    return {
      profile,
      base,
      deps: profileDeps,
      table: createRouteTable(profile.routes(profileDeps)),
    }
  })
  const seen = new Set<string>()
  for (const m of mounted) {
    const key = `${m.base}|${m.profile.name}`
    if (seen.has(key))
      throw new TypeError(`createDarkroomHandler: profile ${m.profile.name} is mounted twice`)
    seen.add(key)
  }

  const find = (method: string, path: string) => {
    for (const m of mounted) {
      if (m.base !== '' && path !== m.base && !path.startsWith(`${m.base}/`)) continue
      const inner = path.slice(m.base.length) || '/'
      const match = m.table.match(method, inner)
      if (match) return { m, match }
    }
    return null
  }

  return {
    owns: (path) => find('GET', path) !== null || find('POST', path) !== null,
    dispatch(request, path, url) {
      const found = find(request.method, path)
      if (!found) return null
      const { m, match } = found
      if (match.kind === 'method') {
        const allow = [
          ...new Set(match.allow.flatMap((a) => (a === 'GET' ? ['GET', 'HEAD'] : [a]))),
        ]
        const problem = new HttpProblem(
          405,
          'METHOD_NOT_ALLOWED',
          `Use ${allow.join(', ')} on this path.`,
          { Allow: allow.join(', ') },
        )
        return Promise.resolve(withHeaders(m.profile.errorResponse(problem, m.deps), problem))
      }
      let cached: Promise<Caller | null> | undefined
      const caller = () => (cached ??= m.deps.authenticate({ headers: request.headers }))
      return match
        .handle({
          request,
          url,
          params: match.params,
          caller,
          requireCaller: async () => requireCaller(await caller()),
        })
        .catch((error: unknown) => withHeaders(m.profile.errorResponse(error, m.deps), error))
    },
  }
}

/** The headers an error carries (`Allow`, `Retry-After`) on the profile's error answer. */
function withHeaders(response: Response, error: unknown): Response {
  const headers = (error as { headers?: Record<string, string> } | null)?.headers
  if (headers) for (const [k, v] of Object.entries(headers)) response.headers.set(k, v)
  return response
}
