import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseConfig } from '@darkroom/core'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.js'

describe('loadConfig', () => {
  it('needs no env at all', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      dataDir: resolve('./data'),
      database: { kind: 'sqlite', filename: join(resolve('./data'), 'darkroom.db') },
      blobs: { kind: 'fs', root: join(resolve('./data'), 'blobs') },
      signingSecret: null,
      guestUploads: false,
      logLevel: 'info',
    })
  })

  it('maps limits and names every bad variable', () => {
    const config = loadConfig({
      PORT: '8080',
      DATA_DIR: '/srv/darkroom',
      MAX_FILE_MB: '2.5',
      MAX_FILES_PER_BATCH: '20',
      MAX_INPUT_MEGAPIXELS: '40',
      VARIANT_FORMAT: 'avif',
      GUEST_UPLOADS: 'true',
      PUBLIC_BASE_URL: 'https://img.example.com/',
      DATABASE_URL: 'file:/tmp/x.db',
    })
    expect(config.darkroom).toEqual({
      limits: { maxFileBytes: 2621440, maxFilesPerBatch: 20, maxInputPixels: 40_000_000 },
      variants: { format: 'avif' },
      publicBaseUrl: 'https://img.example.com',
    })
    expect(config.database).toEqual({ kind: 'sqlite', filename: '/tmp/x.db' })
    expect(config.blobs).toMatchObject({ kind: 'fs', root: '/srv/darkroom/blobs' })
    expect(config.guestUploads).toBe(true)

    const bad = () =>
      loadConfig({
        PORT: 'eighty',
        MAX_FILES_PER_BATCH: '5000',
        GUEST_UPLOADS: 'sure',
        LOG_LEVEL: 'loud',
      })
    expect(bad).toThrow(ConfigError)
    try {
      bad()
    } catch (error) {
      const message = (error as Error).message
      for (const name of ['PORT', 'MAX_FILES_PER_BATCH', 'GUEST_UPLOADS', 'LOG_LEVEL']) {
        expect(message).toContain(name)
      }
    }
  })

  it('reads VARIANT_EFFORT (WebP encoder effort, 0 to 6), beside VARIANT_FORMAT or alone', () => {
    expect(loadConfig({}).darkroom.variants).toBeUndefined()
    expect(loadConfig({ VARIANT_EFFORT: '4' }).darkroom.variants).toEqual({ effort: 4 })
    expect(loadConfig({ VARIANT_FORMAT: 'webp', VARIANT_EFFORT: '0' }).darkroom.variants).toEqual({
      format: 'webp',
      effort: 0,
    })
    expect(() => loadConfig({ VARIANT_EFFORT: '7' })).toThrow(/VARIANT_EFFORT/)
  })

  it('reads HTTP_MAX_INFLIGHT_BODY_MB, 1024 by default', () => {
    expect(loadConfig({}).maxBodyBytesInFlight).toBe(1024 * 1024 * 1024)
    expect(loadConfig({ HTTP_MAX_INFLIGHT_BODY_MB: '64' }).maxBodyBytesInFlight).toBe(
      64 * 1024 * 1024,
    )
    expect(() => loadConfig({ HTTP_MAX_INFLIGHT_BODY_MB: '0' })).toThrow(
      /HTTP_MAX_INFLIGHT_BODY_MB/,
    )
  })

  it('reads TRUST_PROXY as a hop count or a list of proxies, and refuses true', () => {
    expect(loadConfig({}).trustProxy).toBeUndefined()
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1)
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toEqual([
      'loopback',
      '10.0.0.0/8',
    ])
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY: name the proxies/)
    expect(() => loadConfig({ TRUST_PROXY: 'proxy.local' })).toThrow(/TRUST_PROXY: .*proxy\.local/)
  })

  it('maps TRASH_RETENTION_DAYS onto trash.retentionMs; the engine keeps 30 days without it', () => {
    expect(loadConfig({}).darkroom.trash).toBeUndefined()
    expect(loadConfig({ TRASH_RETENTION_DAYS: '7' }).darkroom.trash).toEqual({
      retentionMs: 7 * 86_400_000,
    })
    expect(loadConfig({ TRASH_RETENTION_DAYS: '0.5' }).darkroom.trash).toEqual({
      retentionMs: 43_200_000,
    })
    for (const bad of ['0', '-3', 'forever']) {
      expect(() => loadConfig({ TRASH_RETENTION_DAYS: bad })).toThrow(/TRASH_RETENTION_DAYS/)
    }
    expect(loadConfig({}).maintenance).toEqual({
      intervalMs: 3_600_000,
      orphanSweepIntervalMs: 86_400_000,
    })
  })

  it('maps the /image bounds: render slots (engine and route alike), cache budget, public sizes', () => {
    const defaults = loadConfig({})
    expect(defaults.images).toEqual({ maxQueue: 64, cacheMaxBytes: 512 * 1024 * 1024 })
    expect(defaults.darkroom.transforms).toBeUndefined()
    const set = loadConfig({
      IMAGE_CONCURRENCY: '3',
      IMAGE_QUEUE: '8',
      IMAGE_CACHE_MAX_MB: '0.5',
      IMAGE_PUBLIC_SIZES: '320, 640,1280',
    })
    expect(set.images).toEqual({
      maxConcurrent: 3,
      maxQueue: 8,
      cacheMaxBytes: 512 * 1024,
      publicSizes: [320, 640, 1280],
    })
    expect(set.darkroom.transforms).toEqual({ concurrency: 3 })
    expect(parseConfig(set.darkroom).transforms).toEqual({ concurrency: 3 })
    for (const [name, value] of [
      ['IMAGE_CACHE_MAX_MB', '0'],
      ['IMAGE_PUBLIC_SIZES', '320,,640'],
      ['IMAGE_PUBLIC_SIZES', '5000'],
      ['IMAGE_PUBLIC_SIZES', '0,100'],
    ] as const) {
      expect(() => loadConfig({ [name]: value }), `${name}=${value}`).toThrow(name)
    }
  })

  it('takes a postgres:// DATABASE_URL with ?schema=, and then requires a SIGNING_SECRET', () => {
    const secret = 'x'.repeat(32)
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:p@db:5433/darkroom?schema=photos&sslmode=disable',
      SIGNING_SECRET: secret,
      UPLOADS_DIR: '/shared/uploads',
      JOBS_WORKER: 'false',
    })
    expect(config.database).toEqual({
      kind: 'postgres',
      connectionString: 'postgres://u:p@db:5433/darkroom?sslmode=disable',
      schema: 'photos',
    })
    expect(config.jobs).toEqual({ schema: 'photos_jobs', work: false })
    expect(config.uploads.directory).toBe('/shared/uploads')
    const plain = loadConfig({ DATABASE_URL: 'postgresql://db/x', SIGNING_SECRET: secret })
    expect(plain.database).toEqual({ kind: 'postgres', connectionString: 'postgresql://db/x' })
    expect(plain.jobs).toEqual({ schema: 'pgboss', work: true })
    expect(loadConfig({ DATA_DIR: '/d', JOBS_SCHEMA: 'q' }).uploads.directory).toBe('/d/uploads')
    expect(() => loadConfig({ DATABASE_URL: 'postgres://db/darkroom' })).toThrow(
      /SIGNING_SECRET: required with Postgres/,
    )
    expect(() =>
      loadConfig({ DATABASE_URL: 'postgres://db/x?schema=a;drop', SIGNING_SECRET: secret }),
    ).toThrow(/schema= must be a plain SQL identifier/)
    expect(() => loadConfig({ JOBS_SCHEMA: 'a b' })).toThrow(/JOBS_SCHEMA/)
  })

  it('keeps /metrics behind an admin key unless METRICS_PORT opens a private listener', () => {
    expect(loadConfig({}).metrics).toEqual({ enabled: true, port: null, host: '127.0.0.1' })
    expect(loadConfig({ METRICS: 'false' }).metrics.enabled).toBe(false)
    expect(loadConfig({ METRICS_PORT: '9464', METRICS_HOST: '10.0.0.5' }).metrics).toEqual({
      enabled: true,
      port: 9464,
      host: '10.0.0.5',
    })
    expect(() => loadConfig({ METRICS: 'off', METRICS_PORT: '9464' })).toThrow(
      /METRICS_PORT: set, but METRICS is false/,
    )
    expect(() => loadConfig({ PORT: '8080', METRICS_PORT: '8080' })).toThrow(
      /METRICS_PORT: must differ from PORT/,
    )
    expect(() => loadConfig({ METRICS_PORT: 'x' })).toThrow(/METRICS_PORT/)
  })
})

describe('PROFILES', () => {
  it('mounts named seed profiles at the root or under a base path, and names a bad entry', () => {
    expect(loadConfig({}).profiles).toEqual([])
    expect(loadConfig({ PROFILES: 'events, social@/social' }).profiles).toEqual([
      { profile: 'events', basePath: '' },
      { profile: 'social', basePath: '/social' },
    ])
    expect(loadConfig({ PROFILES: 'all' }).profiles.map((p) => p.profile)).toEqual([
      'social',
      'groups',
      'events',
      'imagehost',
      'albums',
    ])
    expect(() => loadConfig({ PROFILES: 'events,flickr,albums@media' })).toThrow(
      /PROFILES: unknown profile "flickr".*\n.*PROFILES: the base path of albums \("media"\) must start with \//,
    )
  })
})

describe('WATERMARK_*', () => {
  it('switches the watermarked variants on with a text or an image file, tuned or not', async () => {
    expect(loadConfig({}).darkroom.watermark).toBeUndefined()
    const text = loadConfig({
      WATERMARK_TEXT: '© Studio',
      WATERMARK_OPACITY: '0.35',
      WATERMARK_GRAVITY: 'center',
      WATERMARK_VARIANTS: 'watermark=large, watermarkSmall=small',
    })
    expect(text.darkroom.watermark).toEqual({
      text: '© Studio',
      opacity: 0.35,
      gravity: 'center',
      presets: { watermark: 'large', watermarkSmall: 'small' },
    })
    expect(parseConfig(text.darkroom).watermark).toMatchObject({ text: '© Studio' })

    const dir = await mkdtemp(join(tmpdir(), 'darkroom-config-'))
    try {
      const logo = await sharp({
        create: {
          width: 40,
          height: 20,
          channels: 4,
          background: { r: 0, g: 0, b: 0, alpha: 0.5 },
        },
      })
        .png()
        .toBuffer()
      await writeFile(join(dir, 'logo.png'), logo)
      const image = loadConfig({ WATERMARK_IMAGE: join(dir, 'logo.png') })
      expect(Buffer.from(image.darkroom.watermark!.image!)).toEqual(logo)
      // Core's defaults: opacity 0.5, southeast, `watermark` from medium, `watermarkSmall` from small.
      expect(parseConfig(image.darkroom).watermark).toMatchObject({
        opacity: 0.5,
        gravity: 'southeast',
        presets: { watermark: 'medium', watermarkSmall: 'small' },
      })

      await writeFile(join(dir, 'logo.txt'), 'not an image')
      expect(() => loadConfig({ WATERMARK_IMAGE: join(dir, 'logo.txt') })).toThrow(
        /WATERMARK_IMAGE: ".*logo\.txt" is not a PNG, JPEG or WebP file/,
      )
      expect(() => loadConfig({ WATERMARK_IMAGE: join(dir, 'missing.png') })).toThrow(
        /WATERMARK_IMAGE: cannot read ".*missing\.png" \(ENOENT\)/,
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('names every bad watermark variable', () => {
    const bad = () =>
      loadConfig({
        WATERMARK_TEXT: 'x',
        WATERMARK_OPACITY: '1.5',
        WATERMARK_GRAVITY: 'middle',
      })
    expect(bad).toThrow(/WATERMARK_OPACITY: .*\n.*WATERMARK_GRAVITY: /)
    expect(() => loadConfig({ WATERMARK_OPACITY: '0.2', WATERMARK_GRAVITY: 'center' })).toThrow(
      /WATERMARK_OPACITY: needs WATERMARK_TEXT or WATERMARK_IMAGE\n.*WATERMARK_GRAVITY: needs/,
    )
    expect(() => loadConfig({ WATERMARK_TEXT: 'x', WATERMARK_IMAGE: 'logo.png' })).toThrow(
      /not both/,
    )
    expect(() =>
      loadConfig({ WATERMARK_TEXT: 'x', WATERMARK_VARIANTS: 'medium=large,stamp=huge,ok' }),
    ).toThrow(
      /"medium" must be a new variant name.*\n.*"stamp" needs a preset after = \(one of small, medium, large\)\n.*"ok" needs a preset/,
    )
    expect(() => loadConfig({ WATERMARK_TEXT: 'x', WATERMARK_VARIANTS: ',' })).toThrow(
      /WATERMARK_VARIANTS: name at least one variant/,
    )
  })
})
