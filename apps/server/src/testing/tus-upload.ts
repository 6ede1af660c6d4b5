import * as tus from 'tus-js-client'

/**
 * tus-js-client against a test server's `/files`, for the upload tests over each blob backend:
 * no retries and no fingerprint store, so that a test sees the server's first answer and no
 * upload resumes from another test's leftovers.
 */

/** Where to upload and as whom: a `TestServer`'s url and an API key. */
export interface TusTarget {
  url: string
  key: string
}

/** How an upload ended: the photo id of a success, or the status and body of the refusal. */
export interface TusOutcome {
  upload: tus.Upload
  photoId: string | null
  status: number | null
  body: string | null
}

/** Starts an upload; `done` settles with its outcome and never rejects. */
export function startTusUpload(
  target: TusTarget,
  data: Buffer,
  options: Partial<tus.UploadOptions> = {},
): { upload: tus.Upload; done: Promise<TusOutcome> } {
  let upload!: tus.Upload
  const done = new Promise<TusOutcome>((resolve) => {
    upload = new tus.Upload(data, {
      ...baseOptions(target),
      ...options,
      onSuccess: ({ lastResponse }) =>
        resolve({
          upload,
          photoId: lastResponse.getHeader('Darkroom-Photo-Id') ?? null,
          status: lastResponse.getStatus(),
          body: null,
        }),
      onError: (error) => {
        const response = (error as tus.DetailedError).originalResponse
        resolve({
          upload,
          photoId: null,
          status: response?.getStatus() ?? null,
          body: response?.getBody() ?? String(error),
        })
      },
    })
    upload.start()
  })
  return { upload, done }
}

/**
 * Sends the first chunk of `data` (set `chunkSize`), then aborts: an interrupted upload, for a
 * test to resume or to let expire. Resolves once the client has stopped.
 */
export async function uploadFirstChunk(
  target: TusTarget,
  data: Buffer,
  options: Partial<tus.UploadOptions> & { chunkSize: number },
): Promise<tus.Upload> {
  let upload!: tus.Upload
  await new Promise<void>((resolve) => {
    upload = new tus.Upload(data, {
      ...baseOptions(target),
      ...options,
      onChunkComplete: () => void upload.abort().then(resolve),
      onError: () => resolve(),
    })
    upload.start()
  })
  return upload
}

/** The upload's id: the last segment of its URL. */
export function uploadIdOf(upload: tus.Upload): string {
  return upload.url!.split('/').pop()!
}

function baseOptions(target: TusTarget): tus.UploadOptions {
  return {
    endpoint: `${target.url}/files`,
    headers: { authorization: `Bearer ${target.key}` },
    retryDelays: [],
    storeFingerprintForResuming: false,
    metadata: { filename: 'photo.jpg' },
  }
}
