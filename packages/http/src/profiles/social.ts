import { errorResponse } from '../internal/responses.js'
import type { Profile } from './profile.js'

/** Placeholder: routes land with the profile's own work. */
export const socialProfile: Profile = {
  name: 'social',
  title: 'social',
  routes: () => [],
  errorResponse: (error, deps) => errorResponse(error, deps.logger),
}
