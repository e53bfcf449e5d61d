// Builds the console into the Python package, where `athanor up` serves it at `/`.
import { fileURLToPath, URL } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

export default defineConfig({
  plugins: [vue()],
  build: {
    outDir: fileURLToPath(new URL('../src/athanor/server/console', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 900,
  },
  server: {
    // `npm run dev` serves the sources with hot reload and passes the API to a platform
    // started with `athanor up` (ATHANOR_URL overrides where it runs).
    proxy: { '/v1': process.env.ATHANOR_URL ?? 'http://127.0.0.1:8765' },
  },
})
