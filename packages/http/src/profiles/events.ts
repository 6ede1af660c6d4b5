import { errorResponse } from '../internal/responses.js'
import type { Profile } from './profile.js'

/** Placeholder: routes land with the profile's own work. */
export const eventsProfile: Profile = {
  name: 'events',
  title: 'events',
  routes: () => [],
  errorResponse: (error, deps) => errorResponse(error, deps.logger),
}
