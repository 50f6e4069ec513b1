import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
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
})
