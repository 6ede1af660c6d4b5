import { HttpProblem } from '../errors.js'

/**
 * The tus checksum extension: `Upload-Checksum: <algorithm> <base64 digest>` on a PATCH. The
 * header is read here, before tus sees the request; the store that writes the body verifies
 * the digest (and keeps nothing of a body that does not match).
 */

export const CHECKSUM_ALGORITHMS = ['sha1', 'sha256', 'md5'] as const
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number]

export interface DeclaredChecksum {
  algorithm: ChecksumAlgorithm
  /** The digest, base64 as the tus checksum extension sends it. */
  digest: string
}

/** What a store throws when the body does not match its declared checksum. */
export const CHECKSUM_MISMATCH = { status_code: 460, body: 'Checksum Mismatch\n' }

/** What `parseChecksum` needs to know of the store the body will be written to. */
export interface ChecksumSupport {
  /** The algorithms its `write` verifies; none when it has no checksum extension. */
  readonly checksumAlgorithms: readonly ChecksumAlgorithm[]
  /** Names the store in a refusal, e.g. "S3 storage". */
  readonly label: string
}

/**
 * The request's declared checksum, or null without the header. A malformed header, an
 * algorithm the store does not verify, or a store without checksums is a 400.
 */
export function parseChecksum(
  header: string | null,
  store: ChecksumSupport,
): DeclaredChecksum | null {
  if (header === null) return null
  const match = /^\s*([a-z0-9-]+)\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header)
  if (!match) {
    throw new HttpProblem(400, 'BAD_REQUEST', 'Upload-Checksum must be "<algorithm> <base64>".')
  }
  const supported: readonly string[] = store.checksumAlgorithms
  if (supported.length === 0) {
    throw new HttpProblem(
      400,
      'BAD_REQUEST',
      `Upload-Checksum is not supported with ${store.label} (the checksum extension is off).`,
    )
  }
  const algorithm = match[1]!.toLowerCase()
  if (!supported.includes(algorithm)) {
    throw new HttpProblem(
      400,
      'BAD_REQUEST',
      `Unsupported checksum algorithm; use one of ${supported.join(', ')}.`,
    )
  }
  return { algorithm: algorithm as ChecksumAlgorithm, digest: match[2]! }
}
