import { existsSync, readFileSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  configSchema,
  VARIANT_FORMATS,
  type DarkroomConfigInput,
  type WatermarkConfig,
} from '@darkroom/core'
import { clientAddressFor, PROFILE_NAMES, type ProfileName, type TrustProxy } from '@darkroom/http'
import { DEFAULT_MAX_WEBHOOKS_PER_OWNER, type WebhookUrlPolicy } from '@darkroom/trpc'
import { z } from 'zod'
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './http/listener.js'

/**
 * The server's one config object, read from env once (this is the only module that reads
 * `process.env`). Every variable is validated; a bad value stops the start with a message
 * naming the variable. Engine settings (limits, variant format, public URL, watermark) are
 * mapped onto core's config input, which `createDarkroom` validates again with its own schema.
 */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export type DatabaseTarget =
  | { kind: 'sqlite'; filename: string }
  /** `schema`: from `?schema=` in DATABASE_URL (removed from `connectionString`). */
  | { kind: 'postgres'; connectionString: string; schema?: string }
export type BlobTarget =
  | { kind: 'fs'; root: string }
  /**
   * `BLOB_URL=s3://bucket[/prefix]?endpoint=&region=&forcePathStyle=`: blobs under
   * `<prefix>/photos/`, unfinished tus uploads under `<prefix>/uploads/`. Credentials from
   * `?accessKeyId=&secretAccessKey=` or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
   * (+AWS_SESSION_TOKEN); neither: the AWS SDK's own chain (profile, instance role).
   */
  | {
      kind: 's3'
      bucket: string
      /** Key prefix inside the bucket, without slashes at either end; '' for none. */
      prefix: string
      endpoint?: string
      region: string
      forcePathStyle: boolean
      credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
    }

export interface ServerConfig {
  port: number
  host: string
  dataDir: string
  database: DatabaseTarget
  blobs: BlobTarget
  /**
   * HMAC key for signed image URLs; null: generated once and kept in `<dataDir>/secret`.
   * Required with Postgres: every process behind the load balancer must sign alike.
   */
  signingSecret: string | null
  logLevel: LogLevel
  publicBaseUrl: string
  guestUploads: boolean
  /**
   * The proxies whose `X-Forwarded-For` is believed (`TRUST_PROXY`): a hop count, or their
   * addresses and ranges; undefined: none, the header is ignored.
   */
  trustProxy: TrustProxy | undefined
  /**
   * Bytes of request bodies taken in at once across all requests (`HTTP_MAX_INFLIGHT_BODY_MB`,
   * default 1024): JSON buffers and multipart temporary files; tus uploads are not counted.
   */
  maxBodyBytesInFlight: number
  /** Timeouts and socket caps of the main listener (`HTTP_*`); see http/listener.ts. */
  connections: ConnectionLimits
  /** Seed APIs served verbatim (`PROFILES=events,social@/social`): name and base path. */
  profiles: { profile: ProfileName; basePath: string }[]
  /** The built web gallery served at `/` (GALLERY_DIR); null: none found. */
  galleryDir: string | null
  darkroom: DarkroomConfigInput
  uploads: {
    /**
     * Where tus keeps unfinished uploads (`UPLOADS_DIR`, default `<dataDir>/uploads`). Processes
     * that serve one upload between them must share it.
     */
    directory: string
    /** tus uploads not finished this long after creation are removed. */
    expiryMs: number
    cleanupIntervalMs: number
    /** Unfinished uploads one owner may hold (`UPLOADS_MAX_UNFINISHED`, `..._MB`); unset: defaults. */
    maxUnfinished: { count?: number; bytes?: number }
  }
  images: {
    /** Renders at once (`IMAGE_CONCURRENCY`); unset: the engine's render slots, half the cores. */
    maxConcurrent?: number
    /** Renders allowed to wait; more get 503. */
    maxQueue: number
    /** The rendered-image cache's budget on disk (`IMAGE_CACHE_MAX_MB`). */
    cacheMaxBytes: number
    /** Sizes unsigned requests by others than the owner snap up to (`IMAGE_PUBLIC_SIZES`). */
    publicSizes?: number[]
    /** The widths `photos.signUrls` signs as one ladder (`IMAGE_SIGNED_WIDTHS`). */
    signedWidths?: number[]
  }
  /** Where webhooks may point and how many an owner may have (`WEBHOOK_ALLOWED_*`). */
  webhookRules: { urlPolicy: WebhookUrlPolicy; maxPerOwner: number }
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
    /**
     * How often pending photos past their TTL, and trashed ones past their retention, are
     * purged; 0 turns the timers off.
     */
    intervalMs: number
    /** How often blobs no photo references are swept (daily); 0 turns the timer off. */
    orphanSweepIntervalMs: number
  }
  /** Background jobs on pg-boss (Postgres only; SQLite runs them on timers in-process). */
  jobs: {
    /** pg-boss's schema: `JOBS_SCHEMA`, else `<schema>_jobs` with `?schema=`, else `pgboss`. */
    schema: string
    /** `JOBS_WORKER=false`: this process only enqueues; others run the jobs. */
    work: boolean
  }
  rateLimit: {
    /** Upload requests (tRPC `photos.upload`, tus POST) per minute per owner (guests: per IP); 0: off. */
    uploadsPerMinute: number
  }
  /**
   * Prometheus metrics (`METRICS`, default on). `/metrics` on the main port answers only to an
   * admin API key; `METRICS_PORT` adds a listener that serves `/metrics` without a key, meant
   * for a private interface (`METRICS_HOST`, default 127.0.0.1).
   */
  metrics: {
    enabled: boolean
    /** The separate, unauthenticated listener's port; null: none. */
    port: number | null
    host: string
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

const fraction = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?$/, 'must be a number from 0 to 1')
  .transform(Number)
  .pipe(z.number().min(0).max(1))

const WATERMARK_GRAVITIES = [
  'center',
  'southeast',
  'southwest',
  'northeast',
  'northwest',
] as const satisfies readonly WatermarkConfig['gravity'][]

const envSchema = z.object({
  PORT: int(0, 65535).optional(),
  HOST: z.string().trim().min(1).optional(),
  DATA_DIR: z.string().trim().min(1).optional(),
  DATABASE_URL: z.string().trim().min(1).optional(),
  BLOB_URL: z.string().trim().min(1).optional(),
  MAX_FILE_MB: positive.optional(),
  MAX_FILES_PER_BATCH: int(1, 2000).optional(),
  MAX_INPUT_MEGAPIXELS: positive.optional(),
  INGEST_MEMORY_MB: positive.optional(),
  VARIANT_FORMAT: z.enum(VARIANT_FORMATS).optional(),
  VARIANT_EFFORT: int(0, 6).optional(),
  GUEST_UPLOADS: bool.optional(),
  TRUST_PROXY: z.string().trim().optional(),
  PROFILES: z.string().trim().optional(),
  HTTP_HEADERS_TIMEOUT_MS: int(1, 3_600_000).optional(),
  HTTP_REQUEST_TIMEOUT_MS: int(1, 24 * 3_600_000).optional(),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(1, 3_600_000).optional(),
  HTTP_MAX_CONNECTIONS: int(1, 1_000_000).optional(),
  HTTP_MAX_CONNECTIONS_PER_IP: int(0, 1_000_000).optional(),
  HTTP_MAX_INFLIGHT_BODY_MB: positive.optional(),
  GALLERY_DIR: z.string().trim().min(1).optional(),
  SIGNING_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
  PUBLIC_BASE_URL: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
    .transform((v) => v.replace(/\/+$/, ''))
    .optional(),
  UPLOAD_EXPIRY_HOURS: positive.optional(),
  UPLOADS_MAX_UNFINISHED: int(1, 1_000_000).optional(),
  UPLOADS_MAX_UNFINISHED_MB: positive.optional(),
  TRASH_RETENTION_DAYS: positive.optional(),
  IMAGE_CONCURRENCY: int(1, 64).optional(),
  IMAGE_QUEUE: int(0, 10_000).optional(),
  IMAGE_CACHE_MAX_MB: positive.optional(),
  IMAGE_PUBLIC_SIZES: z
    .string()
    .trim()
    .regex(/^\d{1,4}(\s*,\s*\d{1,4})*$/, 'must be comma-separated sizes in px, e.g. 320,640,1280')
    .transform((v) => v.split(',').map((n) => Number(n.trim())))
    .refine((sizes) => sizes.every((n) => n >= 1 && n <= 4096), 'sizes must be from 1 to 4096')
    .optional(),
  IMAGE_SIGNED_WIDTHS: z
    .string()
    .trim()
    .regex(/^\d{1,4}(\s*,\s*\d{1,4})*$/, 'must be comma-separated widths in px, e.g. 640,1080,1920')
    .transform((v) => [...new Set(v.split(',').map((n) => Number(n.trim())))])
    .refine((sizes) => sizes.every((n) => n >= 1 && n <= 4096), 'widths must be from 1 to 4096')
    .refine((sizes) => sizes.length <= 32, 'at most 32 widths')
    .optional(),
  WEBHOOK_MAX_ATTEMPTS: int(1, 100).optional(),
  WEBHOOK_RETRY_BASE_MS: int(1).optional(),
  WEBHOOK_RETRY_MAX_MS: int(1).optional(),
  WEBHOOK_POLL_MS: int(10).optional(),
  WEBHOOK_ALLOWED_PORTS: z
    .string()
    .trim()
    .regex(/^(any|\d{1,5}(\s*,\s*\d{1,5})*)$/, 'must be "any" or comma-separated port numbers')
    .optional(),
  WEBHOOK_ALLOWED_HOSTS: z.string().trim().optional(),
  WEBHOOK_MAX_PER_OWNER: int(1, 1000).optional(),
  WATERMARK_TEXT: z.string().trim().min(1).max(200, 'must be at most 200 characters').optional(),
  WATERMARK_IMAGE: z.string().trim().min(1).optional(),
  WATERMARK_OPACITY: fraction.optional(),
  WATERMARK_GRAVITY: z.enum(WATERMARK_GRAVITIES).optional(),
  WATERMARK_VARIANTS: z.string().trim().optional(),
  VIDEO_ENABLED: bool.optional(),
  VIDEO_MAX_FILE_BYTES: int(1).optional(),
  FFMPEG_PATH: z.string().trim().min(1).optional(),
  FFPROBE_PATH: z.string().trim().min(1).optional(),
  UPLOADS_DIR: z.string().trim().min(1).optional(),
  JOBS_SCHEMA: z
    .string()
    .trim()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a plain SQL identifier')
    .optional(),
  JOBS_WORKER: bool.optional(),
  RATE_LIMIT_UPLOADS_PER_MINUTE: int(0, 1_000_000).optional(),
  METRICS: bool.optional(),
  METRICS_PORT: int(0, 65535).optional(),
  METRICS_HOST: z.string().trim().min(1).optional(),
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
  const blobs = parseBlobUrl(e.BLOB_URL, dataDir, problems, env)
  if (database.kind === 'postgres' && e.SIGNING_SECRET === undefined) {
    problems.push(
      'SIGNING_SECRET: required with Postgres (at least 32 characters), the same for every process',
    )
  }
  const metricsEnabled = e.METRICS ?? true
  if (e.METRICS_PORT !== undefined && !metricsEnabled) {
    problems.push('METRICS_PORT: set, but METRICS is false (unset one of them)')
  }
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === (e.PORT ?? 3000)) {
    problems.push(`METRICS_PORT: must differ from PORT (${e.METRICS_PORT})`)
  }
  const profiles = parseProfiles(e.PROFILES, problems)
  const trustProxy = parseTrustProxy(e.TRUST_PROXY, problems)
  const watermark = parseWatermark(e, problems)
  if (problems.length > 0) throw new ConfigError(problems)

  const limits: NonNullable<DarkroomConfigInput['limits']> = {}
  if (e.MAX_FILE_MB !== undefined) limits.maxFileBytes = Math.round(e.MAX_FILE_MB * 1024 * 1024)
  if (e.MAX_FILES_PER_BATCH !== undefined) limits.maxFilesPerBatch = e.MAX_FILES_PER_BATCH
  if (e.MAX_INPUT_MEGAPIXELS !== undefined) {
    limits.maxInputPixels = Math.round(e.MAX_INPUT_MEGAPIXELS * 1_000_000)
  }
  if (e.INGEST_MEMORY_MB !== undefined) {
    limits.ingestMemoryBytes = Math.max(1, Math.round(e.INGEST_MEMORY_MB * 1024 * 1024))
  }
  const darkroom: DarkroomConfigInput = { limits }
  const expiryMs = Math.round((e.UPLOAD_EXPIRY_HOURS ?? 24) * 3_600_000)
  if (e.VARIANT_FORMAT || e.VARIANT_EFFORT !== undefined) {
    darkroom.variants = {
      ...(e.VARIANT_FORMAT ? { format: e.VARIANT_FORMAT } : {}),
      ...(e.VARIANT_EFFORT !== undefined ? { effort: e.VARIANT_EFFORT } : {}),
    }
  }
  if (e.TRASH_RETENTION_DAYS !== undefined) {
    darkroom.trash = { retentionMs: Math.max(1, Math.round(e.TRASH_RETENTION_DAYS * 86_400_000)) }
  }
  if (e.PUBLIC_BASE_URL) darkroom.publicBaseUrl = e.PUBLIC_BASE_URL
  // The image route's renders and the engine's render slots are one number.
  if (e.IMAGE_CONCURRENCY !== undefined) {
    darkroom.transforms = { concurrency: e.IMAGE_CONCURRENCY }
  }
  if (watermark) darkroom.watermark = watermark
  if (e.VIDEO_ENABLED) {
    darkroom.video = {
      enabled: true,
      // A streamed video (tRPC form) is spooled on the data disk, not in a possibly small /tmp.
      tempDir: join(dataDir, 'tmp'),
      ...(e.VIDEO_MAX_FILE_BYTES !== undefined ? { maxFileBytes: e.VIDEO_MAX_FILE_BYTES } : {}),
      ...(e.FFMPEG_PATH ? { ffmpegPath: e.FFMPEG_PATH } : {}),
      ...(e.FFPROBE_PATH ? { ffprobePath: e.FFPROBE_PATH } : {}),
    }
  }

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
    trustProxy,
    maxBodyBytesInFlight: Math.max(
      1,
      Math.round((e.HTTP_MAX_INFLIGHT_BODY_MB ?? 1024) * 1024 * 1024),
    ),
    profiles,
    connections: {
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS ?? DEFAULT_CONNECTION_LIMITS.headersTimeoutMs,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS ?? DEFAULT_CONNECTION_LIMITS.requestTimeoutMs,
      keepAliveTimeoutMs:
        e.HTTP_KEEP_ALIVE_TIMEOUT_MS ?? DEFAULT_CONNECTION_LIMITS.keepAliveTimeoutMs,
      maxConnections: e.HTTP_MAX_CONNECTIONS ?? DEFAULT_CONNECTION_LIMITS.maxConnections,
      maxConnectionsPerIp:
        e.HTTP_MAX_CONNECTIONS_PER_IP ?? DEFAULT_CONNECTION_LIMITS.maxConnectionsPerIp,
    },
    galleryDir: e.GALLERY_DIR ? resolve(e.GALLERY_DIR) : defaultGalleryDir(),
    darkroom,
    uploads: {
      directory: e.UPLOADS_DIR ? resolve(e.UPLOADS_DIR) : join(dataDir, 'uploads'),
      expiryMs,
      // Often enough that an expired upload does not linger past half its lifetime.
      cleanupIntervalMs: Math.min(10 * 60_000, Math.max(1_000, Math.round(expiryMs / 2))),
      maxUnfinished: {
        ...(e.UPLOADS_MAX_UNFINISHED ? { count: e.UPLOADS_MAX_UNFINISHED } : {}),
        ...(e.UPLOADS_MAX_UNFINISHED_MB
          ? { bytes: Math.round(e.UPLOADS_MAX_UNFINISHED_MB * 1024 * 1024) }
          : {}),
      },
    },
    images: {
      ...(e.IMAGE_CONCURRENCY !== undefined ? { maxConcurrent: e.IMAGE_CONCURRENCY } : {}),
      maxQueue: e.IMAGE_QUEUE ?? 64,
      cacheMaxBytes: Math.round((e.IMAGE_CACHE_MAX_MB ?? 512) * 1024 * 1024),
      ...(e.IMAGE_PUBLIC_SIZES ? { publicSizes: e.IMAGE_PUBLIC_SIZES } : {}),
      ...(e.IMAGE_SIGNED_WIDTHS ? { signedWidths: e.IMAGE_SIGNED_WIDTHS } : {}),
    },
    webhookRules: {
      urlPolicy: {
        allowedPorts:
          e.WEBHOOK_ALLOWED_PORTS === 'any'
            ? 'any'
            : (e.WEBHOOK_ALLOWED_PORTS?.split(',').map((p) => Number(p.trim())) ?? [80, 443]),
        allowedHosts: (e.WEBHOOK_ALLOWED_HOSTS ?? '')
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean),
      },
      maxPerOwner: e.WEBHOOK_MAX_PER_OWNER ?? DEFAULT_MAX_WEBHOOKS_PER_OWNER,
    },
    webhooks: {
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS ?? 10,
      baseDelayMs: e.WEBHOOK_RETRY_BASE_MS ?? 10_000,
      maxDelayMs: e.WEBHOOK_RETRY_MAX_MS ?? 6 * 3_600_000,
      pollIntervalMs: e.WEBHOOK_POLL_MS ?? 1_000,
      leaseMs: 60_000,
      timeoutMs: 10_000,
    },
    maintenance: { intervalMs: 60 * 60_000, orphanSweepIntervalMs: 24 * 3_600_000 },
    jobs: {
      schema:
        e.JOBS_SCHEMA ??
        (database.kind === 'postgres' && database.schema ? `${database.schema}_jobs` : 'pgboss'),
      work: e.JOBS_WORKER ?? true,
    },
    rateLimit: { uploadsPerMinute: e.RATE_LIMIT_UPLOADS_PER_MINUTE ?? 600 },
    metrics: {
      enabled: metricsEnabled,
      port: e.METRICS_PORT ?? null,
      host: e.METRICS_HOST ?? '127.0.0.1',
    },
  }
}

/** apps/example/dist/web beside this module (src/ under tsx, dist/ when built), if built. */
function defaultGalleryDir(): string | null {
  const dir = fileURLToPath(new URL('../../example/dist/web', import.meta.url))
  return existsSync(dir) ? dir : null
}

function parseDatabaseUrl(
  url: string | undefined,
  dataDir: string,
  problems: string[],
): DatabaseTarget {
  if (url === undefined) return { kind: 'sqlite', filename: join(dataDir, 'darkroom.db') }
  if (/^postgres(ql)?:\/\//i.test(url)) return parsePostgresUrl(url, problems)
  if (url === ':memory:') return { kind: 'sqlite', filename: url }
  if (/^file:\/\//i.test(url)) return { kind: 'sqlite', filename: fileURLToPath(url) }
  const path = url.replace(/^(file|sqlite):/i, '')
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path) || path === '') {
    problems.push(`DATABASE_URL: unsupported database URL (expected file:<path>)`)
    return { kind: 'sqlite', filename: '' }
  }
  return { kind: 'sqlite', filename: isAbsolute(path) ? path : resolve(path) }
}

function parsePostgresUrl(url: string, problems: string[]): DatabaseTarget {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    problems.push('DATABASE_URL: not a valid postgres:// URL')
    return { kind: 'sqlite', filename: '' }
  }
  const schema = parsed.searchParams.get('schema')
  parsed.searchParams.delete('schema')
  const target: DatabaseTarget = { kind: 'postgres', connectionString: parsed.toString() }
  if (schema !== null) {
    // At most 58 characters, so that pg-boss's `<schema>_jobs` still fits Postgres' 63.
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,57}$/.test(schema)) {
      problems.push('DATABASE_URL: ?schema= must be a plain SQL identifier (letters, digits, _)')
    }
    target.schema = schema
  }
  return target
}

function parseBlobUrl(
  url: string | undefined,
  dataDir: string,
  problems: string[],
  env: Env,
): BlobTarget {
  if (url === undefined) return { kind: 'fs', root: join(dataDir, 'blobs') }
  if (/^s3:\/\//i.test(url)) return parseS3Url(url, problems, env)
  if (/^file:\/\//i.test(url)) return { kind: 'fs', root: fileURLToPath(url) }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    problems.push('BLOB_URL: unsupported blob URL (expected a folder or file://)')
    return { kind: 'fs', root: '' }
  }
  return { kind: 'fs', root: resolve(url) }
}

const S3_PARAMS = ['endpoint', 'region', 'forcePathStyle', 'accessKeyId', 'secretAccessKey']

/** `s3://bucket[/prefix]?...`; every problem is named without echoing a secret. */
function parseS3Url(url: string, problems: string[], env: Env): BlobTarget {
  const failed: BlobTarget = { kind: 'fs', root: '' }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    problems.push('BLOB_URL: not a valid s3://bucket[/prefix] URL')
    return failed
  }
  const before = problems.length
  if (parsed.username || parsed.password || parsed.port) {
    problems.push(
      'BLOB_URL: put S3 credentials in ?accessKeyId=&secretAccessKey= or AWS_* env, not in the host',
    )
  }
  const bucket = parsed.hostname
  // S3's bucket naming rules (lowercase, 3-63 characters, no leading or trailing dot or dash).
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    problems.push(`BLOB_URL: invalid S3 bucket name ${JSON.stringify(bucket)}`)
  }
  const prefix = decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, '')
  if (prefix !== '' && !/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/.test(prefix)) {
    problems.push('BLOB_URL: the key prefix after the bucket may use only a-z 0-9 . _ - and /')
  }
  const params = parsed.searchParams
  const unknown = [...new Set(params.keys())].filter((k) => !S3_PARAMS.includes(k))
  if (unknown.length > 0) {
    problems.push(
      `BLOB_URL: unknown parameter ${unknown.map((k) => JSON.stringify(k)).join(', ')} ` +
        `(known: ${S3_PARAMS.join(', ')})`,
    )
  }
  const param = (name: string) => params.get(name)?.trim() || undefined
  const endpoint = param('endpoint') ?? (env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL)
  if (endpoint !== undefined) {
    let ok = false
    try {
      const u = new URL(endpoint)
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password
    } catch {
      ok = false
    }
    if (!ok) problems.push('BLOB_URL: endpoint must be an http(s) URL without credentials')
  }
  let forcePathStyle = endpoint !== undefined
  const style = param('forcePathStyle')?.toLowerCase()
  if (style !== undefined) {
    if (['1', 'true', 'yes', 'on'].includes(style)) forcePathStyle = true
    else if (['0', 'false', 'no', 'off'].includes(style)) forcePathStyle = false
    else problems.push('BLOB_URL: forcePathStyle must be true or false')
  }
  const region = param('region') ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1')
  if (!/^[a-z0-9-]+$/.test(region)) problems.push('BLOB_URL: region must look like us-east-1')
  const accessKeyId = param('accessKeyId') ?? (env.AWS_ACCESS_KEY_ID || undefined)
  const secretAccessKey = param('secretAccessKey') ?? (env.AWS_SECRET_ACCESS_KEY || undefined)
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    problems.push(
      'BLOB_URL: S3 credentials need both an access key id and a secret access key ' +
        '(accessKeyId/secretAccessKey or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)',
    )
  }
  if (problems.length > before) return failed
  const sessionToken = param('accessKeyId') ? undefined : env.AWS_SESSION_TOKEN || undefined
  return {
    kind: 's3',
    bucket,
    prefix,
    ...(endpoint !== undefined ? { endpoint } : {}),
    region,
    forcePathStyle,
    ...(accessKeyId && secretAccessKey
      ? {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(sessionToken ? { sessionToken } : {}),
          },
        }
      : {}),
  }
}

type WatermarkInput = NonNullable<DarkroomConfigInput['watermark']>

/**
 * `WATERMARK_TEXT` or `WATERMARK_IMAGE` (a PNG, JPEG or WebP file, read once here) switch the
 * watermarked variants on; `WATERMARK_OPACITY`, `WATERMARK_GRAVITY` and `WATERMARK_VARIANTS`
 * (`name=preset,...`, default `watermark=medium,watermarkSmall=small`) tune them and need one
 * of the two. Undefined when none is set.
 */
function parseWatermark(
  e: z.output<typeof envSchema>,
  problems: string[],
): WatermarkInput | undefined {
  const tuning = ['WATERMARK_OPACITY', 'WATERMARK_GRAVITY', 'WATERMARK_VARIANTS'] as const
  if (e.WATERMARK_TEXT === undefined && e.WATERMARK_IMAGE === undefined) {
    for (const name of tuning) {
      if (e[name] !== undefined) problems.push(`${name}: needs WATERMARK_TEXT or WATERMARK_IMAGE`)
    }
    return undefined
  }
  if (e.WATERMARK_TEXT !== undefined && e.WATERMARK_IMAGE !== undefined) {
    problems.push('WATERMARK_IMAGE: set either WATERMARK_TEXT or WATERMARK_IMAGE, not both')
    return undefined
  }
  const watermark: WatermarkInput = e.WATERMARK_IMAGE
    ? { image: readWatermarkImage(e.WATERMARK_IMAGE, problems) }
    : { text: e.WATERMARK_TEXT! }
  if (e.WATERMARK_OPACITY !== undefined) watermark.opacity = e.WATERMARK_OPACITY
  if (e.WATERMARK_GRAVITY !== undefined) watermark.gravity = e.WATERMARK_GRAVITY
  if (e.WATERMARK_VARIANTS)
    watermark.presets = parseWatermarkVariants(e.WATERMARK_VARIANTS, problems)
  return watermark
}

/** The image's bytes; a file that cannot be read or is no PNG, JPEG or WebP is a problem. */
function readWatermarkImage(path: string, problems: string[]): Uint8Array<ArrayBuffer> {
  let bytes: Uint8Array<ArrayBuffer>
  try {
    bytes = readFileSync(resolve(path))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
    problems.push(`WATERMARK_IMAGE: cannot read ${JSON.stringify(path)} (${code})`)
    return new Uint8Array()
  }
  const ascii = (from: number, to: number) =>
    Buffer.from(bytes.subarray(from, to)).toString('latin1')
  const png = ascii(0, 8) === '\x89PNG\r\n\x1a\n'
  const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff
  const webp = ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP'
  if (!png && !jpeg && !webp) {
    problems.push(`WATERMARK_IMAGE: ${JSON.stringify(path)} is not a PNG, JPEG or WebP file`)
  }
  return bytes
}

/** `watermark=medium,watermarkSmall=small`: each watermarked variant's name and its preset. */
function parseWatermarkVariants(value: string, problems: string[]): Record<string, string> {
  const presets = Object.keys(configSchema.parse({}).variants.presets)
  const before = problems.length
  const out: Record<string, string> = {}
  for (const item of value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)) {
    const [name = '', preset = ''] = item.split('=').map((v) => v.trim())
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,39}$/.test(name) || [...presets, 'original'].includes(name)) {
      problems.push(
        `WATERMARK_VARIANTS: ${JSON.stringify(name)} must be a new variant name ` +
          '(letters, digits, _ or -; not original or a preset)',
      )
    } else if (!presets.includes(preset)) {
      problems.push(
        `WATERMARK_VARIANTS: ${JSON.stringify(name)} needs a preset after = (one of ${presets.join(', ')})`,
      )
    } else out[name] = preset
  }
  if (Object.keys(out).length === 0 && problems.length === before) {
    problems.push('WATERMARK_VARIANTS: name at least one variant (watermark=medium,...)')
  }
  return out
}

/**
 * `TRUST_PROXY`: how many proxies stand in front of the server (`1`), or their addresses and
 * CIDR ranges, comma-separated (`loopback`, `10.0.0.0/8`, `linklocal`, `uniquelocal`). `true`
 * is refused: believing every hop would let any client name its own address.
 */
function parseTrustProxy(value: string | undefined, problems: string[]): TrustProxy | undefined {
  if (!value) return undefined
  const trust: TrustProxy = /^\d+$/.test(value)
    ? Number(value)
    : value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean)
  if (Array.isArray(trust) && trust.some((v) => /^(true|yes|on|all|\*)$/i.test(v))) {
    problems.push(
      'TRUST_PROXY: name the proxies (addresses, CIDR ranges, loopback) or give a hop count (1); ' +
        'trusting every hop would let any client choose its own address',
    )
    return undefined
  }
  try {
    clientAddressFor(trust)
  } catch (error) {
    problems.push(`TRUST_PROXY: ${(error as Error).message.replace(/^trustProxy: /, '')}`)
    return undefined
  }
  return trust
}

/**
 * `PROFILES`: comma-separated profile names, each at the root or under its own base path
 * (`events,social@/social`); `all` mounts every profile at the root.
 */
function parseProfiles(
  value: string | undefined,
  problems: string[],
): { profile: ProfileName; basePath: string }[] {
  if (!value) return []
  const out: { profile: ProfileName; basePath: string }[] = []
  for (const item of value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)) {
    const [name = '', basePath = ''] = item.split('@')
    if (name === 'all' && basePath === '') {
      for (const profile of PROFILE_NAMES) out.push({ profile, basePath: '' })
      continue
    }
    if (!(PROFILE_NAMES as string[]).includes(name)) {
      problems.push(`PROFILES: unknown profile "${name}" (known: ${PROFILE_NAMES.join(', ')}, all)`)
      continue
    }
    if (basePath !== '' && !/^\/[A-Za-z0-9._~\-/]*[^/]$/.test(basePath)) {
      problems.push(
        `PROFILES: the base path of ${name} ("${basePath}") must start with / and not end with /`,
      )
      continue
    }
    if (out.some((o) => o.profile === name && o.basePath === basePath)) continue
    out.push({ profile: name as ProfileName, basePath })
  }
  return out
}
