// Builds the headless CLI, the container worker and the bench runner with esbuild, and the
// dashboard with vite. The Electron app itself is built by electron-vite (`npm run dist`).
import { build } from 'esbuild'
import { existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  sourcemap: true,
  logLevel: 'warning',
  // node_modules stay external here (the worker and the bench); the node bundles most of them (below)
  packages: 'external',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
}

const entries = {
  'dist/cli.js': 'electron/cli.ts',
  'dist/meshwork.js': 'electron/cli-main.ts',
  'dist/worker/worker.js': 'electron/worker/main.ts',
  'dist/bench.js': 'scripts/bench.ts'
}

/**
 * The headless node bundles its pure-JS dependencies: loading a few hundred ES modules one file at a
 * time took about 0.5 s of CPU per start, and thirty nodes starting on one machine feel it. Left out:
 * native code and packages that read files next to themselves.
 */
const nodeExternals = [
  'node-llama-cpp',
  '@node-llama-cpp/*',
  'dockerode',
  'electron',
  '@achingbrain/ssdp',
  'pino',
  'thread-stream'
]

for (const [outfile, entry] of Object.entries(entries)) {
  if (!existsSync(entry)) continue
  const packages = outfile === 'dist/meshwork.js' ? { packages: undefined, external: nodeExternals } : {}
  await build({ ...common, ...packages, entryPoints: [entry], outfile })
}

if (existsSync('renderer/index.html') && !process.argv.includes('--no-renderer')) {
  const vite = spawnSync(
    process.execPath,
    ['node_modules/vite/bin/vite.js', 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn'],
    { stdio: 'inherit' }
  )
  if (vite.status !== 0) process.exit(vite.status ?? 1)
}
console.log('built dist/')
