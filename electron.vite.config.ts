import react from '@vitejs/plugin-react'
import { defineConfig } from 'electron-vite'

// `electron-vite build` → out/main (ESM), out/preload/preload.cjs (a sandboxed preload must be CommonJS),
// out/renderer (the same dashboard the headless node serves).
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      // the app is a chunk beside main.js (not in chunks/), so its import.meta.dirname is out/main too
      rollupOptions: { input: { main: 'electron/main.ts' }, output: { chunkFileNames: '[name].js' } }
    }
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // bundle everything: a sandboxed preload can only require 'electron' and a few built-ins
      externalizeDeps: false,
      rollupOptions: {
        input: { preload: 'electron/preload.ts' },
        output: { format: 'cjs', entryFileNames: '[name].cjs' }
      }
    }
  },
  renderer: {
    root: 'renderer',
    base: './',
    plugins: [react()],
    build: {
      outDir: 'out/renderer',
      rollupOptions: { input: { index: 'renderer/index.html' } }
    }
  }
})
