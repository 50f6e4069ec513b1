import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// Built by scripts/build.mjs from the repository root: `vite build --config renderer/vite.config.ts`.
// base './' lets the same files load from the headless node (http://127.0.0.1:<port>/) and from file:// in Electron.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1024
  }
})
