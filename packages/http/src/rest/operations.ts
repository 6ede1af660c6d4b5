/**
 * The REST twin's one hand-written part: which tRPC procedure each method and path calls, where
 * the procedure's input keys come from, and the status of a success. Everything else (the input
 * and output schemas, validation, auth, scopes, rate limits, errors) is read from the router, so
 * the twin cannot drift from it. A router procedure missing here fails `rest.test.ts`.
 *
 * Paths are under `REST_PREFIX` (the handler's base path before it), OpenAPI style: each `{name}`
 * segment is the input key `name`. Literal segments are matched before `{id}`, so
 * `/photos/batch` is never read as a photo id.
 */

/** Where the twin lives: a prefix no seed API uses (seed 000 owns `/api/v1/photos`). */
export const REST_PREFIX = '/api/darkroom/v1'

export type RestMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export type SuccessStatus = 200 | 201 | 204

export interface RestOperation {
  /** The tRPC procedure it calls, e.g. `photos.get`; also its `operationId` (`photos_get`). */
  procedure: string
  method: RestMethod
  /** Under `REST_PREFIX`: `/photos/{id}`. */
  path: string
  /**
   * Where the input keys other than the path's come from: `query` (coerced by the input's JSON
   * schema type; a body is refused), `body` (one JSON object; query keys are refused), or
   * `multipart` (the upload form).
   */
  input: 'query' | 'body' | 'multipart'
  /** A success's status; 204 answers no body. */
  status: SuccessStatus
  /** Another success status, for the calls `when` picks out. */
  otherwise?: {
    status: SuccessStatus
    when(input: Record<string, unknown>, output: unknown): boolean
    description: string
  }
  /** One line for the OpenAPI document. */
  summary: string
}

const nothingUploaded = (_input: unknown, output: unknown) =>
  (output as { uploaded?: unknown[] }).uploaded?.length === 0

export const REST_OPERATIONS: readonly RestOperation[] = [
  // ------------------------------------------------------------------------------- photos
  {
    procedure: 'photos.upload',
    method: 'POST',
    path: '/photos',
    input: 'multipart',
    status: 201,
    otherwise: {
      status: 200,
      when: nothingUploaded,
      description: 'Nothing was stored: every file was skipped (a duplicate, over a cap).',
    },
    summary: 'Upload a batch of photos (multipart/form-data)',
  },
  {
    procedure: 'photos.list',
    method: 'GET',
    path: '/photos',
    input: 'query',
    status: 200,
    summary: 'List photos: filter, search, sort, page by offset or cursor',
  },
  {
    procedure: 'photos.getMany',
    method: 'GET',
    path: '/photos/batch',
    input: 'query',
    status: 200,
    summary: 'Get many photos by id (ids repeated in the query), in the order asked',
  },
  {
    procedure: 'photos.bulkDelete',
    method: 'POST',
    path: '/photos/bulk-delete',
    input: 'body',
    status: 200,
    summary: 'Delete many photos (soft or hard)',
  },
  {
    procedure: 'photos.repairDimensions',
    method: 'POST',
    path: '/photos/repair-dimensions',
    input: 'body',
    status: 200,
    summary: 'Re-read width, height and orientation from the stored originals',
  },
  {
    procedure: 'photos.get',
    method: 'GET',
    path: '/photos/{id}',
    input: 'query',
    status: 200,
    summary: 'Get a photo',
  },
  {
    procedure: 'photos.update',
    method: 'PATCH',
    path: '/photos/{id}',
    input: 'body',
    status: 200,
    summary: 'Change a photo: description, visibility, category, dimensions',
  },
  {
    procedure: 'photos.delete',
    method: 'DELETE',
    path: '/photos/{id}',
    input: 'query',
    status: 204,
    summary: 'Delete a photo (to the trash, or for good with hard=true)',
  },
  {
    procedure: 'photos.move',
    method: 'POST',
    path: '/photos/{id}/move',
    input: 'body',
    status: 200,
    otherwise: {
      status: 201,
      when: (input) => input.copy === true,
      description: 'A copy was made (`copy: true`): the new photo.',
    },
    summary: 'Move a photo to another album or none, or copy it',
  },
  {
    procedure: 'photos.reorder',
    method: 'POST',
    path: '/photos/{id}/reorder',
    input: 'body',
    status: 200,
    summary: 'Place a photo before or after another in its album',
  },
  {
    procedure: 'photos.restore',
    method: 'POST',
    path: '/photos/{id}/restore',
    input: 'body',
    status: 200,
    summary: 'Take a photo out of the trash',
  },
  {
    procedure: 'photos.react',
    method: 'POST',
    path: '/photos/{id}/reactions',
    input: 'body',
    status: 200,
    summary: 'Like, rate or comment on a photo',
  },
  {
    procedure: 'photos.signUrls',
    method: 'GET',
    path: '/photos/{id}/signed-urls',
    input: 'query',
    status: 200,
    summary:
      'A srcset of signed /image URLs for your photo (private too): one signature, every width',
  },
  {
    procedure: 'photos.listComments',
    method: 'GET',
    path: '/photos/{id}/comments',
    input: 'query',
    status: 200,
    summary: "A photo's comments",
  },
  // ------------------------------------------------------------------------------- albums
  {
    procedure: 'albums.create',
    method: 'POST',
    path: '/albums',
    input: 'body',
    status: 201,
    summary: 'Create an album',
  },
  {
    procedure: 'albums.list',
    method: 'GET',
    path: '/albums',
    input: 'query',
    status: 200,
    summary: 'List your albums',
  },
  {
    procedure: 'albums.get',
    method: 'GET',
    path: '/albums/{id}',
    input: 'query',
    status: 200,
    summary: 'Get an album',
  },
  {
    procedure: 'albums.update',
    method: 'PATCH',
    path: '/albums/{id}',
    input: 'body',
    status: 200,
    summary: 'Change an album: title, description, photo cap, cover',
  },
  {
    procedure: 'albums.delete',
    method: 'DELETE',
    path: '/albums/{id}',
    input: 'query',
    status: 204,
    summary: 'Delete an album (its photos stay, outside any album)',
  },
  // --------------------------------------------------------------------------------- keys
  {
    procedure: 'keys.create',
    method: 'POST',
    path: '/keys',
    input: 'body',
    status: 201,
    summary: 'Create an API key (the key itself is in this answer only)',
  },
  {
    procedure: 'keys.list',
    method: 'GET',
    path: '/keys',
    input: 'query',
    status: 200,
    summary: 'List your API keys',
  },
  {
    // Revoking keeps the key listed, with `revokedAt`: a state change, not a DELETE.
    procedure: 'keys.revoke',
    method: 'POST',
    path: '/keys/{id}/revoke',
    input: 'body',
    status: 200,
    summary: 'Revoke an API key',
  },
  // ----------------------------------------------------------------------------- webhooks
  {
    procedure: 'webhooks.create',
    method: 'POST',
    path: '/webhooks',
    input: 'body',
    status: 201,
    summary: 'Subscribe a URL to events (the signing secret is in this answer only)',
  },
  {
    procedure: 'webhooks.list',
    method: 'GET',
    path: '/webhooks',
    input: 'query',
    status: 200,
    summary: 'List your webhook subscriptions',
  },
  {
    procedure: 'webhooks.delete',
    method: 'DELETE',
    path: '/webhooks/{id}',
    input: 'query',
    status: 204,
    summary: 'Delete a webhook subscription',
  },
  // ------------------------------------------------------------------------------ uploads
  {
    procedure: 'uploads.status',
    method: 'GET',
    path: '/uploads/{id}',
    input: 'query',
    status: 200,
    summary: "A tus upload's state: receiving, processing, ready or failed",
  },
  // ------------------------------------------------------------------------------- owners
  {
    procedure: 'owners.me',
    method: 'GET',
    path: '/owners/me',
    input: 'query',
    status: 200,
    summary: 'Your storage use, quota and profile picture',
  },
  {
    procedure: 'owners.setQuota',
    method: 'PUT',
    path: '/owners/{ownerId}/quota',
    input: 'body',
    status: 200,
    summary: "Set an owner's storage quota in bytes, null for the default (admin)",
  },
]

/** `photos.bulkDelete` → `photos_bulkDelete`. */
export function operationIdOf(procedure: string): string {
  return procedure.replaceAll('.', '_')
}

/** The `{name}` segments of a path template, in order. */
export function pathKeysOf(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!)
}
