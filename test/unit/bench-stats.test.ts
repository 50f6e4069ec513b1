import { describe, expect, it } from 'vitest'
import { REQUIRED_KEYS, buildReport, formatTable, quantile, targetMet } from '../../scripts/bench/stats'

const meta = {
  startedAt: '2026-01-01T00:00:00.000Z',
  machine: { cpus: 2, memoryGB: 23, platform: 'linux-x64', node: 'v24' },
  command: 'npm run bench',
  sections: ['routing']
}

describe('bench statistics', () => {
  it('quantile is nearest-rank on the sorted values', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6]
    expect(quantile(values, 0.5)).toBe(5)
    expect(quantile(values, 0.95)).toBe(10)
    expect(quantile(values, 0.99)).toBe(10)
    expect(quantile(values, 0)).toBe(1)
    expect(quantile([42], 0.99)).toBe(42)
    // p99 of 1..200 is 198 (not the maximum)
    expect(
      quantile(
        Array.from({ length: 200 }, (_, i) => i + 1),
        0.99
      )
    ).toBe(198)
    expect(() => quantile([], 0.5)).toThrow()
  })

  it('does not reorder the caller’s list', () => {
    const values = [3, 1, 2]
    quantile(values, 0.5)
    expect(values).toEqual([3, 1, 2])
  })
})

describe('bench report', () => {
  it('has every required key, null with a note where nothing measured it', () => {
    const report = buildReport({ 'routing.overheadP50Ms': 2.5, 'load.lost': 0, 'load.ttftP99Ms': 40 }, {}, meta)
    expect(REQUIRED_KEYS).toEqual(
      expect.arrayContaining([
        'routing.overheadP50Ms',
        'routing.overheadP99Ms',
        'routing.throughputRatio',
        'failover.preTokenGapP95Ms',
        'failover.midStreamGapP95Ms',
        'discovery.newProviderRoutableMs',
        'discovery.deadProviderDroppedMs',
        'reputation.lieKnownByAllMs',
        'load.streams',
        'load.lost',
        'idle.rssMB',
        'idle.cpuPercentPerNode30',
        'scale.convergeMs30'
      ])
    )
    for (const key of REQUIRED_KEYS) expect(report.metrics).toHaveProperty([key])
    expect(report.metrics['routing.overheadP50Ms']).toBe(2.5)
    expect(report.metrics['idle.rssMB']).toBeNull()
    expect(report.notes['idle.rssMB']).toMatch(/not measured/)
    expect(report.notes['routing.overheadP50Ms']).toBeUndefined()
    // nested by the part before the first dot, as `routing.overheadP50Ms` reads in the JSON
    expect((report.routing as Record<string, unknown>).overheadP50Ms).toBe(2.5)
    expect((report.load as Record<string, unknown>).ttftP99Ms).toBe(40)
    expect((report.idle as Record<string, unknown>).rssMB).toBeNull()
    // and survives JSON
    const parsed = JSON.parse(JSON.stringify(report))
    expect(parsed.scale.convergeMs30).toBeNull()
  })

  it('turns a NaN or infinite measurement into null and keeps a section’s own note', () => {
    const report = buildReport(
      { 'scale.convergeMs30': Number.NaN, 'idle.rssMB': Infinity },
      { 'scale.convergeMs30': '3/30 never converged' },
      meta
    )
    expect(report.metrics['scale.convergeMs30']).toBeNull()
    expect(report.metrics['idle.rssMB']).toBeNull()
    expect(report.notes['scale.convergeMs30']).toBe('3/30 never converged')
  })

  it('judges targets in the right direction', () => {
    expect(targetMet('routing.overheadP50Ms', 3)).toBe('yes')
    expect(targetMet('routing.overheadP50Ms', 3.1)).toBe('NO')
    expect(targetMet('routing.throughputRatio', 0.96)).toBe('yes')
    expect(targetMet('routing.throughputRatio', 0.9)).toBe('NO')
    expect(targetMet('load.lost', 1)).toBe('NO')
    expect(targetMet('idle.rssMB', null)).toBe('-')
    expect(targetMet('reputation.lieKnownByAllMs', 100)).toBe('-')
  })

  it('prints one row per required key with value, target and verdict, then the notes', () => {
    const report = buildReport({ 'routing.overheadP50Ms': 5.2, 'idle.rssMB': 120 }, {}, meta)
    const lines = formatTable(report).split('\n')
    expect(lines[0]).toMatch(/^metric\s+value\s+target\s+met\?$/)
    expect(lines.find((l) => l.startsWith('routing.overheadP50Ms'))).toMatch(/5\.2\s+≤ 3\s+NO$/)
    expect(lines.find((l) => l.startsWith('idle.rssMB'))).toMatch(/120\s+≤ 150\s+yes$/)
    expect(lines.find((l) => l.startsWith('load.lost'))).toMatch(/null\s+≤ 0\s+-$/)
    expect(lines).toContain('notes:')
  })
})
