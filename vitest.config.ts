import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url))

// Tests run against the sources: every @darkroom/* import is aliased to its src/, no build first.
export default defineConfig({
  resolve: {
    alias: [
      {
        find: /^@darkroom\/core\/testing$/,
        replacement: src('./packages/core/src/testing/public.ts'),
      },
      {
        find: /^@darkroom\/core\/adapter-kit$/,
        replacement: src('./packages/core/src/adapter-kit.ts'),
      },
      { find: /^@darkroom\/core\/node$/, replacement: src('./packages/core/src/node/index.ts') },
      { find: /^@darkroom\/core$/, replacement: src('./packages/core/src/index.ts') },
      {
        find: /^@darkroom\/storage\/testing$/,
        replacement: src('./packages/storage/src/testing/index.ts'),
      },
      {
        find: /^@darkroom\/storage\/postgres$/,
        replacement: src('./packages/storage/src/metadata/postgres.ts'),
      },
      {
        find: /^@darkroom\/storage\/s3$/,
        replacement: src('./packages/storage/src/blob/s3-blob-store.ts'),
      },
      { find: /^@darkroom\/storage$/, replacement: src('./packages/storage/src/index.ts') },
      { find: /^@darkroom\/trpc$/, replacement: src('./packages/trpc/src/index.ts') },
      {
        find: /^@darkroom\/http\/postgres$/,
        replacement: src('./packages/http/src/tus/pg-locker.ts'),
      },
      {
        find: /^@darkroom\/http\/s3$/,
        replacement: src('./packages/http/src/tus/s3-upload-store.ts'),
      },
      { find: /^@darkroom\/http$/, replacement: src('./packages/http/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts'],
    env: { TZ: 'UTC' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
