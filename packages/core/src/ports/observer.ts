/**
 * Told what the engine did, for metrics. Every method is optional and called synchronously
 * after the operation settles; a throw is logged by core and changes nothing.
 */

/** One `photos.upload` call, however it arrived (tRPC form, tus, an app calling core). */
export interface UploadObservation {
  /** Wall time of the call: reading, hashing, waiting for the CPU, rendering, storing. */
  durationMs: number
  /** Files in the batch. */
  files: number
  /** Photos stored (restored from the trash included). */
  uploaded: number
  /** Files refused or skipped one by one (duplicates included). */
  skipped: number
  /** The `DarkroomError` code when the call threw (`INTERNAL` for any other error); else null. */
  error: string | null
}

export interface DarkroomObserver {
  upload?(observation: UploadObservation): void
}
