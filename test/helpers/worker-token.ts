import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The launch token of the worker a node process runs now, read from its data dir the way the worker
 * reads it (`<dataDir>/run/worker-*\/secret/token`, the newest launch): tests that call a node's worker
 * directly need it, as the worker answers nothing else without it.
 */
export function workerToken(dataDir: string): string | undefined {
  const run = join(dataDir, 'run')
  let newest: { file: string; at: number } | undefined
  let entries: string[]
  try {
    entries = readdirSync(run).filter((name) => name.startsWith('worker-'))
  } catch {
    return undefined
  }
  for (const name of entries) {
    const file = join(run, name, 'secret', 'token')
    try {
      const at = statSync(file).mtimeMs
      if (newest === undefined || at > newest.at) newest = { file, at }
    } catch {
      // a launch that is being cleaned up
    }
  }
  return newest === undefined ? undefined : readFileSync(newest.file, 'utf8').trim()
}
