// `npm start`: the desktop app when Electron can run here, else the headless node with the web dashboard.
// Flags after `--` go to `meshwork start` in headless mode (e.g. `npm start -- --api-port 9090`).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildIsStale } from './build-freshness.mjs'

const root = join(import.meta.dirname, '..')
const args = process.argv.slice(2)
const forceHeadless = args.includes('--headless') || process.env.MESHWORK_HEADLESS === '1'
const passthrough = args.filter((a, i) => a !== '--headless' && !(a === '--' && i === 0))

/** Why Electron cannot start here, or undefined when it can. */
function electronBlocker(env = process.env, platform = process.platform) {
  if (forceHeadless) return 'headless mode was requested'
  if (platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY)
    return 'there is no display (DISPLAY / WAYLAND_DISPLAY are not set)'
  const pkg = join(root, 'node_modules', 'electron')
  const pathFile = join(pkg, 'path.txt')
  // require('electron') would try to download the binary; look for it instead
  if (!existsSync(pathFile))
    return "Electron's binary is not installed (it is downloaded from the internet on first use)"
  const binary = join(pkg, 'dist', readFileSync(pathFile, 'utf8').trim())
  if (!existsSync(binary)) return `Electron's binary is missing at ${binary}`
  return undefined
}

function run(cmd, argv) {
  const child = spawn(cmd, argv, { cwd: root, stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
  return child
}

function headless(reason) {
  console.log(`Meshwork: starting without the desktop window because ${reason}.`)
  console.log('Meshwork: running the headless node; open the dashboard URL it prints below in a browser.')
  // a build older than the sources (after a `git pull`) would run the previous code
  if (buildIsStale(root, 'dist/cli.js') || !existsSync(join(root, 'dist', 'renderer', 'index.html'))) {
    const built = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' })
    if (built.status !== 0) process.exit(built.status ?? 1)
  }
  run(process.execPath, [join(root, 'dist', 'cli.js'), 'start', ...passthrough]).on('exit', (code, signal) =>
    process.exit(code ?? (signal ? 0 : 1))
  )
}

const blocker = electronBlocker()
if (blocker) {
  headless(blocker)
} else {
  if (buildIsStale(root, 'out/main/main.js')) {
    const built = spawnSync(
      process.execPath,
      [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'],
      { cwd: root, stdio: 'inherit' }
    )
    if (built.status !== 0) process.exit(built.status ?? 1)
  }
  const binary = join(
    root,
    'node_modules',
    'electron',
    'dist',
    readFileSync(join(root, 'node_modules', 'electron', 'path.txt'), 'utf8').trim()
  )
  const startedAt = Date.now()
  run(binary, ['.']).on('exit', (code) => {
    // a crash within seconds means Electron cannot run here (missing libraries, GPU/sandbox trouble)
    if (code !== 0 && Date.now() - startedAt < 10_000) headless(`Electron exited at once (code ${code})`)
    else process.exit(code ?? 0)
  })
}
