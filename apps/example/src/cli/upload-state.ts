import { readFile, rename, writeFile } from 'node:fs/promises'

/**
 * The files a folder upload has finished, by fingerprint (path, size, mtime, server, album,
 * category): a rerun skips them without a request per file. Kept beside tus-js-client's
 * `FileUrlStorage` file (which holds the upload URLs of unfinished files). Written whole to a
 * temp file and renamed, so a kill mid-write leaves the previous version, never half a file.
 */

export interface FinishedUpload {
  photoId: string
  filename: string
  size: number
  finishedAt: string
}

interface StateFile {
  version: 1
  finished: Record<string, FinishedUpload>
}

export class FinishedUploads {
  private writing: Promise<void> = Promise.resolve()

  private constructor(
    readonly path: string,
    private readonly state: StateFile,
  ) {}

  static async load(path: string): Promise<FinishedUploads> {
    let state: StateFile = { version: 1, finished: {} }
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<StateFile>
      if (parsed && typeof parsed.finished === 'object' && parsed.finished !== null) {
        state = { version: 1, finished: parsed.finished }
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && !(error instanceof SyntaxError)) {
        throw error
      }
    }
    return new FinishedUploads(path, state)
  }

  get(fingerprint: string): FinishedUpload | undefined {
    return this.state.finished[fingerprint]
  }

  set(fingerprint: string, record: FinishedUpload): Promise<void> {
    this.state.finished[fingerprint] = record
    return this.save()
  }

  delete(fingerprint: string): Promise<void> {
    if (!(fingerprint in this.state.finished)) return Promise.resolve()
    delete this.state.finished[fingerprint]
    return this.save()
  }

  /** Writes one after the other, each the whole state as it is then. */
  private save(): Promise<void> {
    const next = this.writing.then(async () => {
      const temp = `${this.path}.${process.pid}.tmp`
      await writeFile(temp, `${JSON.stringify(this.state, null, 2)}\n`, 'utf8')
      await rename(temp, this.path)
    })
    this.writing = next.catch(() => undefined)
    return next
  }
}
