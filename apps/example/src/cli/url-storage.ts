import type * as tus from 'tus-js-client'

/**
 * tus-js-client's `FileUrlStorage` (the upload URLs of unfinished files, in one JSON file per
 * folder), one operation at a time.
 *
 * Each of its writes takes a `proper-lockfile` lock on that file and gives up after five quick
 * retries (about 0.6 s) with `ELOCKED`; with a few uploads in parallel, this process's own
 * writes collide that often. And tus-js-client does not catch a failed write of a new upload's
 * URL: the rejection goes unhandled and ends the process with a stack trace. So every call goes
 * through one queue here (this process never contends with itself, and a read never sees a
 * write half done), and a lock held by someone else (a run killed mid-write leaves it behind;
 * it turns stale after 10 s) is waited out for up to about 15 s before the error is returned.
 */

type TusUrlStorage = NonNullable<tus.UploadOptions['urlStorage']>
type PreviousUpload = Awaited<ReturnType<TusUrlStorage['findAllUploads']>>[number]

/** Waits between attempts while another process holds the lock (about 15 s in all). */
const LOCKED_DELAYS_MS = [50, 100, 200, 400, 800, 1_000, 1_500, 2_000, 2_000, 3_000, 4_000]

export class SerialUrlStorage implements TusUrlStorage {
  #queue: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly inner: TusUrlStorage,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  findAllUploads(): Promise<PreviousUpload[]> {
    return this.#run(() => this.inner.findAllUploads())
  }

  findUploadsByFingerprint(fingerprint: string): Promise<PreviousUpload[]> {
    return this.#run(() => this.inner.findUploadsByFingerprint(fingerprint))
  }

  removeUpload(urlStorageKey: string): Promise<void> {
    return this.#run(() => this.inner.removeUpload(urlStorageKey))
  }

  addUpload(fingerprint: string, upload: PreviousUpload): Promise<string> {
    return this.#run(() => this.inner.addUpload(fingerprint, upload))
  }

  #run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(() => this.#retryLocked(operation))
    this.#queue = result.catch(() => undefined)
    return result
  }

  async #retryLocked<T>(operation: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await operation()
      } catch (error) {
        const delay = LOCKED_DELAYS_MS[attempt]
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED' || delay === undefined) throw error
        await this.sleep(delay)
      }
    }
  }
}
