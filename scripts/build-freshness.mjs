// Whether a build output is older than the sources it is built from (`npm start` rebuilds then).
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Folders and files whose changes a build must pick up (relative to the project root): the sources,
 * the packages, and how they are built (the build scripts and the TypeScript settings esbuild reads).
 */
export const BUILD_SOURCES = [
  'electron',
  'shared',
  'renderer',
  'package.json',
  'package-lock.json',
  'scripts/build.mjs',
  'electron.vite.config.ts',
  'tsconfig.json',
  'tsconfig.base.json',
  'tsconfig.node.json',
  'tsconfig.web.json'
]

/** True when `output` is missing or any file under `sources` changed after it was written. */
export function buildIsStale(root, output, sources = BUILD_SOURCES) {
  let builtAt
  try {
    builtAt = statSync(join(root, output)).mtimeMs
  } catch {
    return true
  }
  return sources.some((source) => newerThan(join(root, source), builtAt))
}

function newerThan(path, time) {
  let stat
  try {
    stat = statSync(path)
  } catch {
    return false
  }
  if (!stat.isDirectory()) return stat.mtimeMs > time
  return readdirSync(path).some((name) => name !== 'node_modules' && newerThan(join(path, name), time))
}
