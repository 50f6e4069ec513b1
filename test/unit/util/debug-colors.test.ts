import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { build, type Metafile } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { settleDebugColors } from '../../../electron/core/util/debug-colors'

const MODULE = fileURLToPath(new URL('../../../electron/core/util/debug-colors.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../..', import.meta.url))

/** In a fresh Node process (libp2p's logger reads DEBUG_* once, at import): isatty calls per logger created. */
function isattyCallsPerLogger(settled: boolean): { perLogger: number; colors: string | null } {
  const script = `
    import tty from 'node:tty'
    let calls = 0
    const isatty = tty.isatty
    tty.isatty = (fd) => { calls++; return isatty(fd) }
    ${settled ? `(await import(${JSON.stringify(MODULE)})).settleDebugColors()` : ''}
    const { logger } = await import('@libp2p/logger')
    const before = calls
    for (let i = 0; i < 50; i++) logger('meshwork:test:' + i)
    console.log(JSON.stringify({ perLogger: (calls - before) / 50, colors: process.env.DEBUG_COLORS ?? null }))`
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^debug_/i.test(key)))
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    env,
    encoding: 'utf8'
  })
  return JSON.parse(out.trim().split('\n').at(-1)!)
}

describe('libp2p logger colours', () => {
  // libp2p creates loggers for every stream; each asked whether stderr is a terminal (4 system calls)
  it('are decided once, not per logger', () => {
    const unsettled = isattyCallsPerLogger(false)
    expect(unsettled.perLogger).toBeGreaterThan(0) // what the guard saves: weald asks on every logger
    const settled = isattyCallsPerLogger(true)
    expect(settled.perLogger).toBe(0)
    expect(settled.colors).toBe('no') // stderr is a pipe here
  })

  it('keep what a terminal or the user chose', () => {
    const env: NodeJS.ProcessEnv = {}
    settleDebugColors(env, true)
    expect(env.DEBUG_COLORS).toBe('yes')
    const chosen: NodeJS.ProcessEnv = { debug_colors: '1' }
    settleDebugColors(chosen, false)
    expect(chosen).toEqual({ debug_colors: '1' })
  })

  // both entries settle the colours, then load everything else by a dynamic import: ES modules run
  // every static import before the importer's own code, so one static path to libp2p is too early
  it.each(['electron/cli.ts', 'electron/main.ts'])('%s loads libp2p only after deciding them', async (entry) => {
    const { metafile } = await build({
      entryPoints: [entry],
      absWorkingDir: ROOT,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      packages: 'external',
      outdir: 'out/import-graph-test',
      write: false,
      metafile: true,
      logLevel: 'silent'
    })
    const start = Object.keys(metafile.outputs).find((key) => metafile.outputs[key].entryPoint === entry)!
    const isLibp2p = (path: string): boolean => /^(libp2p|@libp2p\/|@chainsafe\/libp2p)/.test(path)
    expect([...packagesReached(metafile, start, false)].filter(isLibp2p)).toEqual([])
    // the check sees libp2p where it is (the command imports its separately built bundle by a path
    // the bundler does not follow)
    if (entry === 'electron/main.ts') expect([...packagesReached(metafile, start, true)].some(isLibp2p)).toBe(true)
  })
})

/** The packages an output imports, through its static imports only or also through dynamic ones. */
function packagesReached(metafile: Metafile, from: string, dynamic: boolean, seen = new Set<string>()): Set<string> {
  const packages = new Set<string>()
  seen.add(from)
  for (const { path, kind, external } of metafile.outputs[from]?.imports ?? []) {
    if (kind !== 'import-statement' && !(dynamic && kind === 'dynamic-import')) continue
    if (external) packages.add(path)
    else if (!seen.has(path)) for (const p of packagesReached(metafile, path, dynamic, seen)) packages.add(p)
  }
  return packages
}
