import { isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { VARIANT_FORMATS, type DarkroomConfigInput } from '@darkroom/core'
import { z } from 'zod'

/**
 * The server's one config object, read from env once (this is the only module that reads
 * `process.env`). Every variable is validated; a bad value stops the start with a message
 * naming the variable. Engine settings (limits, variant format, public URL) are mapped onto
 * core's config input, which `createDarkroom` validates again with its own schema.
 */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export type DatabaseTarget = { kind: 'sqlite'; filename: string }
export type BlobTarget = { kind: 'fs'; root: string }

export interface ServerConfig {
  port: number
  host: string
  dataDir: string
  database: DatabaseTarget
  blobs: BlobTarget
  /** HMAC key for signed image URLs; null: generated once and kept in `<dataDir>/secret`. */
  signingSecret: string | null
  logLevel: LogLevel
  publicBaseUrl: string
  guestUploads: boolean
  darkroom: DarkroomConfigInput
  uploads: {
    /** tus uploads not finished this long after creation are removed. */
    expiryMs: number
    cleanupIntervalMs: number
  }
  images: {
    /** Transforms started at once by the image route (core bounds the CPU they take). */
    maxConcurrent: number
    /** Transforms allowed to wait; more get 503. */
    maxQueue: number
  }
  webhooks: {
    maxAttempts: number
    /** First retry delay; doubles each attempt, with jitter, up to `maxDelayMs`. */
    baseDelayMs: number
    maxDelayMs: number
    pollIntervalMs: number
    leaseMs: number
    timeoutMs: number
  }
  maintenance: {
    /** How often pending photos past their TTL are purged; 0 turns the timer off. */
    intervalMs: number
  }
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))

const positive = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?$/, 'must be a positive number')
  .transform(Number)
  .pipe(z.number().positive())

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'].includes(v), {
    message: 'must be true or false',
  })
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v))

const envSchema = z.object({
  PORT: int(0, 65535).optional(),
  HOST: z.string().trim().min(1).optional(),
  DATA_DIR: z.string().trim().min(1).optional(),
  DATABASE_URL: z.string().trim().min(1).optional(),
  BLOB_URL: z.string().trim().min(1).optional(),
  MAX_FILE_MB: positive.optional(),
  MAX_FILES_PER_BATCH: int(1, 2000).optional(),
  MAX_INPUT_MEGAPIXELS: positive.optional(),
  VARIANT_FORMAT: z.enum(VARIANT_FORMATS).optional(),
  GUEST_UPLOADS: bool.optional(),
  SIGNING_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
  PUBLIC_BASE_URL: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
    .transform((v) => v.replace(/\/+$/, ''))
    .optional(),
  UPLOAD_EXPIRY_HOURS: positive.optional(),
  IMAGE_CONCURRENCY: int(1, 64).optional(),
  IMAGE_QUEUE: int(0, 10_000).optional(),
  WEBHOOK_MAX_ATTEMPTS: int(1, 100).optional(),
  WEBHOOK_RETRY_BASE_MS: int(1).optional(),
  WEBHOOK_RETRY_MAX_MS: int(1).optional(),
  WEBHOOK_POLL_MS: int(10).optional(),
})

type Env = Record<string, string | undefined>

/**
 * Reads the config from `env` (default `process.env`). Empty strings count as unset.
 * Throws `ConfigError` listing every bad variable by name.
 *
 * @example
 * const config = loadConfig({ PORT: '0', DATA_DIR: tmp })
 */
export function loadConfig(env: Env = process.env): ServerConfig {
  const present = Object.fromEntries(
    Object.keys(envSchema.shape)
      .map((name) => [name, env[name]] as const)
      .filter(([, value]) => value !== undefined && value.trim() !== ''),
  )
  const parsed = envSchema.safeParse(present)
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${String(issue.path[0] ?? 'env')}: ${issue.message}`),
    )
  }
  const e = parsed.data
  const problems: string[] = []
  const dataDir = resolve(e.DATA_DIR ?? './data')
  const database = parseDatabaseUrl(e.DATABASE_URL, dataDir, problems)
  const blobs = parseBlobUrl(e.BLOB_URL, dataDir, problems)
  if (problems.length > 0) throw new ConfigError(problems)

  const limits: NonNullable<DarkroomConfigInput['limits']> = {}
  if (e.MAX_FILE_MB !== undefined) limits.maxFileBytes = Math.round(e.MAX_FILE_MB * 1024 * 1024)
  if (e.MAX_FILES_PER_BATCH !== undefined) limits.maxFilesPerBatch = e.MAX_FILES_PER_BATCH
  if (e.MAX_INPUT_MEGAPIXELS !== undefined) {
    limits.maxInputPixels = Math.round(e.MAX_INPUT_MEGAPIXELS * 1_000_000)
  }
  const darkroom: DarkroomConfigInput = { limits }
  const expiryMs = Math.round((e.UPLOAD_EXPIRY_HOURS ?? 24) * 3_600_000)
  if (e.VARIANT_FORMAT) darkroom.variants = { format: e.VARIANT_FORMAT }
  if (e.PUBLIC_BASE_URL) darkroom.publicBaseUrl = e.PUBLIC_BASE_URL

  return {
    port: e.PORT ?? 3000,
    host: e.HOST ?? '127.0.0.1',
    dataDir,
    database,
    blobs,
    signingSecret: e.SIGNING_SECRET ?? null,
    logLevel: e.LOG_LEVEL ?? 'info',
    publicBaseUrl: e.PUBLIC_BASE_URL ?? '',
    guestUploads: e.GUEST_UPLOADS ?? false,
    darkroom,
    uploads: {
      expiryMs,
      // Often enough that an expired upload does not linger past half its lifetime.
      cleanupIntervalMs: Math.min(10 * 60_000, Math.max(1_000, Math.round(expiryMs / 2))),
    },
    images: { maxConcurrent: e.IMAGE_CONCURRENCY ?? 4, maxQueue: e.IMAGE_QUEUE ?? 64 },
    webhooks: {
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS ?? 10,
      baseDelayMs: e.WEBHOOK_RETRY_BASE_MS ?? 10_000,
      maxDelayMs: e.WEBHOOK_RETRY_MAX_MS ?? 6 * 3_600_000,
      pollIntervalMs: e.WEBHOOK_POLL_MS ?? 1_000,
      leaseMs: 60_000,
      timeoutMs: 10_000,
    },
    maintenance: { intervalMs: 60 * 60_000 },
  }
}

function parseDatabaseUrl(
  url: string | undefined,
  dataDir: string,
  problems: string[],
): DatabaseTarget {
  if (url === undefined) return { kind: 'sqlite', filename: join(dataDir, 'darkroom.db') }
  if (/^postgres(ql)?:\/\//i.test(url)) {
    problems.push('DATABASE_URL: Postgres support arrives with issue 5; use a sqlite file for now')
    return { kind: 'sqlite', filename: '' }
  }
  if (url === ':memory:') return { kind: 'sqlite', filename: url }
  if (/^file:\/\//i.test(url)) return { kind: 'sqlite', filename: fileURLToPath(url) }
  const path = url.replace(/^(file|sqlite):/i, '')
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path) || path === '') {
    problems.push(`DATABASE_URL: unsupported database URL (expected file:<path>)`)
    return { kind: 'sqlite', filename: '' }
  }
  return { kind: 'sqlite', filename: isAbsolute(path) ? path : resolve(path) }
}

function parseBlobUrl(url: string | undefined, dataDir: string, problems: string[]): BlobTarget {
  if (url === undefined) return { kind: 'fs', root: join(dataDir, 'blobs') }
  if (/^s3:\/\//i.test(url)) {
    problems.push('BLOB_URL: S3 blob storage is not available yet; use a folder for now')
    return { kind: 'fs', root: '' }
  }
  if (/^file:\/\//i.test(url)) return { kind: 'fs', root: fileURLToPath(url) }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    problems.push('BLOB_URL: unsupported blob URL (expected a folder or file://)')
    return { kind: 'fs', root: '' }
  }
  return { kind: 'fs', root: resolve(url) }
}
