import { join, resolve } from 'node:path'
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
    expect(config.database.filename).toBe('/tmp/x.db')
    expect(config.blobs.root).toBe('/srv/darkroom/blobs')
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

  it('says clearly what is not supported yet', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://db/darkroom' })).toThrow(
      /DATABASE_URL: Postgres support arrives with issue 5/,
    )
    expect(() => loadConfig({ BLOB_URL: 's3://bucket' })).toThrow(/BLOB_URL: S3/)
  })
})
