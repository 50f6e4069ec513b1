import { describe, expect, it } from 'vitest'
import { judgeSoak, linearSlope, type SoakRun, type TimedSample } from '../../scripts/bench/soak-judge'
import type { NodeSample } from '../../scripts/bench/soak-sampler'

/** A node sampled every 5 s for 240 s; `shape` gives each sample's values from its time. */
function series(name: string, shape: (t: number) => Partial<NodeSample> & { requests?: number }): SoakRun['series'][0] {
  const samples: TimedSample[] = []
  for (let t = 0; t <= 240; t += 5) {
    const { requests, ...over } = shape(t)
    const node: NodeSample = {
      rssMB: 150 + (t % 10 === 0 ? 2 : -2), // GC noise
      heapUsedMB: 60,
      heapTotalMB: 70,
      newSpaceMB: 16,
      externalMB: 5,
      fds: 40,
      connections: 1,
      db: {
        ledger: 8192 + t * 400,
        reputation: 20_000,
        wal: 100_000,
        walLargest: 90_000,
        ledgerRows: t,
        observationRows: 9
      },
      ...over
    }
    samples.push({ t, quiet: t % 30 === 0, requests: requests ?? t * 2, node })
  }
  return { name, samples }
}

const run = (over: Partial<SoakRun> = {}): SoakRun => ({
  series: [series('router', () => ({})), series('provider', () => ({}))],
  warmupS: 60,
  endS: 240,
  peersJoined: 16,
  containersLeft: 0,
  failed: 0,
  ...over
})

describe('soak verdict', () => {
  it('fits a line', () => {
    expect(linearSlope([0, 1, 2, 3].map((x) => ({ x, y: 2 * x + 1 })))).toBeCloseTo(2)
    expect(linearSlope([{ x: 1, y: 5 }])).toBe(0)
  })

  it('calls a flat, noisy run bounded', () => {
    const verdict = judgeSoak(run())
    expect(verdict.unbounded).toEqual([])
    expect(verdict.metrics['soak.bounded']).toBe(1)
    expect(Math.abs(verdict.metrics['soak.rssGrowthMB'])).toBeLessThan(2)
    expect(verdict.metrics['soak.fdGrowth']).toBe(0)
  })

  it('does not count growth during the warm-up', () => {
    const warming = series('router', (t) => ({ rssMB: 100 + Math.min(t, 60) }))
    const verdict = judgeSoak(run({ series: [warming] }))
    expect(verdict.unbounded).toEqual([])
    expect(verdict.metrics['soak.routerRssWarmupGrowthMB']).toBeGreaterThan(50)
  })

  it('catches RSS that keeps growing after the warm-up', () => {
    const leaking = series('router', (t) => ({ rssMB: 150 + t * 0.1 })) // 6 MB/min
    const verdict = judgeSoak(run({ series: [leaking] }))
    expect(verdict.metrics['soak.bounded']).toBe(0)
    expect(verdict.metrics['soak.rssGrowthMB']).toBeCloseTo(18, 0)
    expect(verdict.unbounded.join()).toContain('router RSS')
  })

  it('catches fds and connections left open across quiet points', () => {
    const leaking = series('provider', (t) => ({
      fds: 40 + Math.floor(t / 30) * 3,
      connections: 1 + Math.floor(t / 30)
    }))
    const verdict = judgeSoak(run({ series: [leaking] }))
    expect(verdict.unbounded.join()).toMatch(/provider open fds \+18.*connections \+6/)
  })

  it('catches a WAL that is never checkpointed and a ledger whose bytes per job rise', () => {
    const wal = series('router', (t) => ({
      db: {
        ledger: 8192 + t * t * 40,
        reputation: 20_000,
        wal: t * 100_000,
        walLargest: t * 90_000,
        ledgerRows: t,
        observationRows: 9
      }
    }))
    const text = judgeSoak(run({ series: [wal] })).unbounded.join()
    expect(text).toContain('WAL reached')
    expect(text).toContain('ledger bytes per job rose')
  })

  it('counts containers left, containers it could not count, and failed requests', () => {
    expect(judgeSoak(run({ containersLeft: 2 })).unbounded).toEqual(['2 labelled containers left'])
    expect(judgeSoak(run({ containersLeft: Number.NaN })).unbounded.join()).toContain('could not be counted')
    expect(judgeSoak(run({ failed: 1 })).unbounded.join()).toContain('1 requests failed')
  })
})
