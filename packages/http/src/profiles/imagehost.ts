import { errorResponse } from '../internal/responses.js'
import type { Profile } from './profile.js'

/** Placeholder: routes land with the profile's own work. */
export const imagehostProfile: Profile = {
  name: 'imagehost',
  title: 'imagehost',
  routes: () => [],
  errorResponse: (error, deps) => errorResponse(error, deps.logger),
}
