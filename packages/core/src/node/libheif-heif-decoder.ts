import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { DecodedHeif, DecodeHeifOptions, HeifDecoder } from '../ports/heif-decoder.js'
import { heifDecodeWorker } from './internal/heif-decode-worker.js'

/**
 * HEVC-coded HEIF decoding off the main thread: a small pool of worker threads running libheif
 * (WebAssembly), started on first use. A worker is `ref`'d only while it has work, so an idle pool
 * never keeps the process alive, and it is terminated after a quiet spell to give back its
 * WebAssembly memory (which only grows). A job that runs past its time limit terminates its
 * worker; the next job starts a fresh one. The pool belongs to the process (worker threads are a
 * process resource): every `LibheifHeifDecoder`, in every engine, shares it.
 *
 * @example
 * const darkroom = await createDarkroom({ store, blobs, heifDecoder: new LibheifHeifDecoder() })
 */
export class LibheifHeifDecoder implements HeifDecoder {
  decode(data: Uint8Array, options: DecodeHeifOptions): Promise<DecodedHeif> {
    return decodeHeif(data, options)
  }
}

/** Why a decode failed: libheif's last words, a worker that died, or the time limit. */
export class HeifDecodeError extends Error {
  override readonly name = 'HeifDecodeError'
}

type WorkerReply =
  | { id: number; type: 'started' }
  | {
      id: number
      type: 'done'
      width: number
      height: number
      hasAlpha: boolean
      pixels: ArrayBuffer
    }
  | { id: number; type: 'failed'; message: string }

interface PendingJob {
  timeoutMs: number
  timer: NodeJS.Timeout | undefined
  resolve(decoded: DecodedHeif): void
  reject(error: Error): void
}

interface Slot {
  worker: Worker
  jobs: Map<number, PendingJob>
  idleTimer: NodeJS.Timeout | undefined
}

const POOL_SIZE = Math.max(1, Math.min(2, availableParallelism()))
const IDLE_MS = 20_000

// Process-wide by nature: worker threads are a process resource, shared by every Darkroom.
const slots: Slot[] = []
let nextJobId = 1
let workerSource: string | undefined

function decodeHeif(data: Uint8Array, options: DecodeHeifOptions): Promise<DecodedHeif> {
  const slot = pickSlot()
  const id = nextJobId++
  // A private copy, transferred: the caller's buffer may be a slice of a pooled allocation.
  const copy = new Uint8Array(data)
  return new Promise<DecodedHeif>((resolve, reject) => {
    slot.jobs.set(id, { timeoutMs: options.timeoutMs, timer: undefined, resolve, reject })
    setBusy(slot)
    slot.worker.postMessage({ id, data: copy.buffer, maxPixels: options.maxPixels }, [copy.buffer])
  })
}

function pickSlot(): Slot {
  const idle = slots.find((slot) => slot.jobs.size === 0)
  if (idle) return idle
  if (slots.length < POOL_SIZE) return startSlot()
  return slots.reduce((least, slot) => (slot.jobs.size < least.jobs.size ? slot : least))
}

function startSlot(): Slot {
  workerSource ??= `(${heifDecodeWorker.toString()})()`
  const libheifPath = createRequire(import.meta.url).resolve('libheif-js/wasm-bundle')
  const worker = new Worker(workerSource, { eval: true, workerData: { libheifPath } })
  const slot: Slot = { worker, jobs: new Map(), idleTimer: undefined }
  worker.on('message', (reply: WorkerReply) => onReply(slot, reply))
  worker.on('error', (error) => retire(slot, new HeifDecodeError(`HEIF worker failed: ${error}`)))
  worker.on('exit', (code) => retire(slot, new HeifDecodeError(`HEIF worker exited (${code})`)))
  slots.push(slot)
  return slot
}

function onReply(slot: Slot, reply: WorkerReply): void {
  const job = slot.jobs.get(reply.id)
  if (!job) return
  if (reply.type === 'started') {
    job.timer = setTimeout(() => {
      retire(slot, new HeifDecodeError(`HEIF decoding took longer than ${job.timeoutMs} ms`))
    }, job.timeoutMs)
    return
  }
  clearTimeout(job.timer)
  slot.jobs.delete(reply.id)
  if (slot.jobs.size === 0) setIdle(slot)
  if (reply.type === 'failed') {
    job.reject(new HeifDecodeError(reply.message))
    return
  }
  const { width, height, hasAlpha, pixels } = reply
  job.resolve({ width, height, hasAlpha, pixels: Buffer.from(pixels) })
}

function setBusy(slot: Slot): void {
  clearTimeout(slot.idleTimer)
  slot.idleTimer = undefined
  slot.worker.ref()
}

function setIdle(slot: Slot): void {
  slot.worker.unref()
  slot.idleTimer = setTimeout(() => retire(slot, undefined), IDLE_MS)
  slot.idleTimer.unref()
}

/** Removes a worker from the pool and fails whatever it still had. */
function retire(slot: Slot, error: HeifDecodeError | undefined): void {
  const index = slots.indexOf(slot)
  if (index === -1) return
  slots.splice(index, 1)
  clearTimeout(slot.idleTimer)
  for (const job of slot.jobs.values()) {
    clearTimeout(job.timer)
    job.reject(error ?? new HeifDecodeError('HEIF worker stopped'))
  }
  slot.jobs.clear()
  void slot.worker.terminate()
}
