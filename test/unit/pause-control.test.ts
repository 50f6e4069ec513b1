import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createEvents } from '../../electron/core/events'
import { PauseControl } from '../../electron/core/pause-control'
import { createLogger } from '../../electron/core/util/logger'
import type { AbortOptions } from '../../electron/core/util/startable'
import { tempDir } from '../helpers/temp-dir'

const logger = createLogger('pause-test', { level: 'error' })

/** A PauseControl whose jobs go idle when the test says so; records what it asked of the others. */
function setup(dataDir = tempDir('mw-pause-')) {
  const calls: string[] = []
  let goIdle: () => void = () => {}
  let idle = new Promise<void>((resolve) => (goIdle = resolve))
  const jobsIdle = async (options: AbortOptions = {}): Promise<void> => {
    options.signal?.throwIfAborted()
    await Promise.race([
      idle,
      new Promise<never>((_, reject) =>
        options.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true })
      )
    ])
  }
  const events = createEvents()
  events.on('status:changed', (s) => calls.push(`status:changed ${s.paused}`))
  const pause = new PauseControl(
    {
      events,
      logger,
      refreshAdvert: async () => void calls.push('advert'),
      jobsIdle,
      runtime: { suspend: async () => void calls.push('suspend'), resume: async () => void calls.push('resume') }
    },
    { dataDir, pauseStopsRuntime: true }
  )
  return {
    pause,
    calls,
    dataDir,
    jobsDone: () => goIdle(),
    jobsBusyAgain: () => (idle = new Promise<void>((resolve) => (goIdle = resolve)))
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('PauseControl', () => {
  it('persists the choice in state.json (owner-only) and reads it back at start', async () => {
    const first = setup()
    await first.pause.start()
    expect(first.pause.paused).toBe(false)
    await first.pause.set(true)
    expect(JSON.parse(readFileSync(join(first.dataDir, 'state.json'), 'utf8'))).toEqual({ paused: true })
    expect(statSync(join(first.dataDir, 'state.json')).mode & 0o077).toBe(0)
    expect(first.calls.slice(0, 2)).toEqual(['advert', 'status:changed true'])

    const restarted = setup(first.dataDir)
    await restarted.pause.start()
    expect(restarted.pause.paused).toBe(true)
    expect(restarted.pause.refusesJobs()).toBe(true)
  })

  it('frees the GPU only once the jobs in flight are done, and not after a resume', async () => {
    const { pause, calls, jobsDone, jobsBusyAgain } = setup()
    await pause.start()
    await pause.set(true)
    await turn()
    expect(calls).not.toContain('suspend')
    jobsDone()
    await turn()
    expect(calls).toContain('suspend')

    calls.length = 0
    jobsBusyAgain()
    await pause.set(false)
    expect(calls[0]).toBe('resume')
    await pause.set(true)
    await pause.set(false)
    jobsDone()
    await turn()
    expect(calls).not.toContain('suspend')
  })

  it('stopping refuses new jobs and tells the mesh before any service stops; a stop cancels the pending suspend', async () => {
    const { pause, calls, jobsDone } = setup()
    await pause.start()
    await pause.set(true)
    calls.length = 0
    await pause.set(false)
    await pause.set(true)
    await pause.beforeStop()
    expect(pause.refusesJobs()).toBe(true)
    expect(calls).toContain('advert')
    await pause.stop()
    jobsDone()
    await turn()
    expect(calls).not.toContain('suspend')
  })

  it('drain waits for the jobs, and gives up (without throwing) when the stop deadline passes', async () => {
    const { pause, jobsDone } = setup()
    await pause.start()
    let drained = false
    const draining = pause.drain().then(() => (drained = true))
    await turn()
    expect(drained).toBe(false)
    jobsDone()
    await draining

    const busy = setup()
    await busy.pause.start()
    const begun = performance.now()
    await busy.pause.drain({ signal: AbortSignal.timeout(50) })
    expect(performance.now() - begun).toBeLessThan(1_000)
  })
})
