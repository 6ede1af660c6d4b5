/**
 * The body of a HEIF decode worker thread. sharp's prebuilt libvips has no HEVC decoder, so HEIC
 * pixels come from libheif compiled to WebAssembly (libheif-js, the engine under heic-decode). It
 * is synchronous CPU work of about 0.7 s per 12 MP photo, hence a worker thread.
 *
 * `libheif-heif-decoder.ts` starts this function as the worker's source (`eval`, via `toString()`), so it
 * runs the same from the TypeScript sources under vitest and from `dist`. It must therefore be
 * self-contained: no imports, no closures over module scope, only `require`.
 *
 * Protocol: the parent posts `{ id, data, maxPixels }` (data transferred); the worker answers
 * `{ id, type: 'started' }`, then `{ id, type: 'done', width, height, hasAlpha, pixels }` with
 * RGBA pixels transferred, or `{ id, type: 'failed', message }`. Jobs run one at a time.
 *
 * We call libheif-js directly rather than heic-decode because heic-decode decodes the first
 * top-level image, which is not always the primary one (in `sharp/pitm.avif` the grid's tiles
 * come first); the primary is chosen here by `is_primary()`. libheif applies the `irot`, `imir`
 * and `clap` transformations while decoding, so the pixels come out as displayed, and nothing
 * downstream may rotate them again (the EXIF Orientation inside a HEIF is informational).
 */
export function heifDecodeWorker(): void {
  const threads = require('node:worker_threads') as typeof import('node:worker_threads')
  const port = threads.parentPort
  if (!port) return
  const libheif = require(threads.workerData.libheifPath) as LibHeif

  // libheif-js reports failures with console.log; keep the last line as the error's detail.
  let lastLog = ''
  console.log = console.warn = (...args: unknown[]) => {
    lastLog = args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' ')
  }

  let queue = Promise.resolve()
  port.on('message', (job: DecodeJob) => {
    queue = queue.then(() => decode(job))
  })

  async function decode(job: DecodeJob): Promise<void> {
    port!.postMessage({ id: job.id, type: 'started' })
    lastLog = ''
    const decoder = new libheif.HeifDecoder()
    let images: HeifImage[] = []
    try {
      images = decoder.decode(new Uint8Array(job.data))
      const primary = images.find((image) => image.is_primary()) ?? images[0]
      if (!primary) throw new Error(lastLog || 'no image in the file')
      const width = primary.get_width()
      const height = primary.get_height()
      if (!(width > 0 && height > 0) || width * height > job.maxPixels) {
        throw new Error(`unexpected image size ${width}x${height}`)
      }
      const pixels = new ArrayBuffer(width * height * 4)
      const shown = await new Promise<unknown>((resolve) => {
        primary.display({ data: new Uint8ClampedArray(pixels), width, height }, resolve)
      })
      if (!shown) throw new Error(lastLog || 'decoding failed')
      const hasAlpha = primary.has_alpha_channel()
      port!.postMessage({ id: job.id, type: 'done', width, height, hasAlpha, pixels }, [pixels])
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      port!.postMessage({ id: job.id, type: 'failed', message })
    } finally {
      for (const image of images) image.free()
      decoder.decoder?.delete()
    }
  }
}

interface DecodeJob {
  id: number
  data: ArrayBuffer
  maxPixels: number
}

interface HeifImage {
  is_primary(): boolean
  has_alpha_channel(): boolean
  get_width(): number
  get_height(): number
  display(
    target: { data: Uint8ClampedArray; width: number; height: number },
    done: (result: unknown) => void,
  ): void
  free(): void
}

interface LibHeif {
  HeifDecoder: new () => {
    decoder: { delete(): void } | null
    decode(data: Uint8Array): HeifImage[]
  }
}
