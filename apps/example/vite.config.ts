import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

/**
 * The web gallery: `web/` is the Vite root, the build goes to `dist/web`, which apps/server
 * serves at `/`. `npm run dev:web` serves the page with hot reload and proxies the API to the
 * Darkroom server at DARKROOM_URL (default http://127.0.0.1:3000).
 */
const target = process.env.DARKROOM_URL ?? 'http://127.0.0.1:3000'
const api = ['/trpc', '/files', '/photos', '/image', '/session', '/healthz']

export default defineConfig({
  root: fileURLToPath(new URL('./web', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    reportCompressedSize: false,
  },
  server: {
    host: '127.0.0.1',
    proxy: Object.fromEntries(api.map((path) => [path, { target, changeOrigin: false }])),
  },
  logLevel: 'warn',
})
