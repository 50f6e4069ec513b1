import { existsSync, realpathSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Where the worker and what it needs live on this machine; every field can be overridden. */
export interface WorkerPaths {
  /** Directory holding node_modules/node-llama-cpp. */
  rootDir: string
  /** The bundled worker (dist/worker/worker.js). */
  workerEntry: string
  /** A real Node binary (not Electron) for the child process and the image. */
  nodeBinary: string
}

/** Walks up from this file to the directory whose node_modules holds node-llama-cpp. */
export function findAppRoot(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from
  for (;;) {
    if (existsSync(join(dir, 'node_modules', 'node-llama-cpp', 'package.json'))) return dir
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

function defaultNodeBinary(rootDir: string | undefined): string {
  // `npm i node@24` places the real binary here; Electron's execPath is not a plain node
  const local = rootDir ? join(rootDir, 'node_modules', 'node', 'bin', 'node') : undefined
  if (local && existsSync(local)) return realpathSync(local)
  if (basename(process.execPath).startsWith('node')) return realpathSync(process.execPath)
  return process.execPath
}

export function resolveWorkerPaths(overrides: Partial<WorkerPaths> = {}): WorkerPaths {
  const rootDir = overrides.rootDir ?? findAppRoot() ?? process.cwd()
  return {
    rootDir,
    workerEntry: overrides.workerEntry ?? join(rootDir, 'dist', 'worker', 'worker.js'),
    nodeBinary: overrides.nodeBinary ?? defaultNodeBinary(rootDir)
  }
}
