import { describe, expect, it } from 'vitest'
import { Lifecycle, type NamedService } from '../../electron/core/util/lifecycle'
import { createLogger } from '../../electron/core/util/logger'
import type { AbortOptions, Startable } from '../../electron/core/util/startable'

const logger = createLogger('lifecycle-test', { level: 'error' })

/** A service that records every call into `log`; its behaviour per phase can be overridden. */
function recorder(name: string, log: string[], overrides: Partial<Startable> = {}): NamedService {
  const service: Startable = {
    start: async () => void log.push(`start ${name}`),
    stop: async () => void log.push(`stop ${name}`),
    ...overrides
  }
  return { name, service }
}

describe('Lifecycle', () => {
  it('starts in order and stops in reverse, every beforeStop before any stop, afterStop last', async () => {
    const log: string[] = []
    const withHooks = (name: string): NamedService =>
      recorder(name, log, {
        beforeStop: async () => void log.push(`beforeStop ${name}`),
        afterStop: async () => void log.push(`afterStop ${name}`)
      })
    const lifecycle = new Lifecycle([withHooks('a'), recorder('b', log), withHooks('c')], { logger })
    await lifecycle.start()
    expect(log).toEqual(['start a', 'start b', 'start c'])
    log.length = 0
    await lifecycle.stop()
    expect(log).toEqual(['beforeStop c', 'beforeStop a', 'stop c', 'stop b', 'stop a', 'afterStop c', 'afterStop a'])
  })

  it('rolls back what started (in reverse) when a later start fails, and throws that error', async () => {
    const log: string[] = []
    const boom = new Error('port taken')
    const lifecycle = new Lifecycle(
      [
        recorder('a', log),
        recorder('b', log),
        recorder('c', log, { start: async () => Promise.reject(boom) }),
        recorder('d', log)
      ],
      { logger }
    )
    await expect(lifecycle.start()).rejects.toBe(boom)
    // c never started, so it is not stopped; d was never reached
    expect(log).toEqual(['start a', 'start b', 'stop b', 'stop a'])
    log.length = 0
    await lifecycle.stop()
    expect(log).toEqual([])
  })

  it('a failing or throwing stop does not keep the others from stopping', async () => {
    const log: string[] = []
    const lifecycle = new Lifecycle(
      [
        recorder('a', log),
        recorder('b', log, { stop: async () => Promise.reject(new Error('stuck')) }),
        recorder('c', log, {
          stop: () => {
            throw new Error('synchronous throw')
          }
        })
      ],
      { logger }
    )
    await lifecycle.start()
    await lifecycle.stop()
    expect(log).toContain('stop a')
  })

  it('gives graceful work the deadline, then leaves a hung stop behind after the step grace', async () => {
    const log: string[] = []
    const seen: Array<AbortSignal | undefined> = []
    const drain = recorder('drain', log, {
      // waits for the deadline, like a drain that never reaches idle
      stop: async (options?: AbortOptions) => {
        seen.push(options?.signal)
        const signal = options?.signal
        if (signal?.aborted === false)
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
        log.push('drain gave up')
      }
    })
    const hung = recorder('hung', log, { stop: () => new Promise<void>(() => {}) })
    const lifecycle = new Lifecycle([recorder('libp2p', log), hung, drain], { logger, stepGraceMs: 100 })
    await lifecycle.start()
    const begun = performance.now()
    await lifecycle.stop({ signal: AbortSignal.timeout(300) })
    const ms = performance.now() - begun
    expect(log).toEqual(['start libp2p', 'start hung', 'start drain', 'drain gave up', 'stop libp2p'])
    expect(seen[0]?.aborted).toBe(true)
    // drain: ends at the 300 ms deadline; hung: left behind 100 ms later; libp2p: at once
    expect(ms).toBeGreaterThanOrEqual(390)
    expect(ms).toBeLessThan(1_500)
  })

  it('stop is idempotent: a second call waits for the same stop', async () => {
    const log: string[] = []
    const lifecycle = new Lifecycle([recorder('a', log)], { logger })
    await lifecycle.start()
    await Promise.all([lifecycle.stop(), lifecycle.stop()])
    expect(log).toEqual(['start a', 'stop a'])
  })
})
