import { describe, expect, it } from 'vitest'
import type { ConnectionKind } from '../../../shared/api'
import type { RelayBudget } from '../../../electron/core/p2p/reachability-connection'
import type { Candidate } from '../../../electron/core/router/candidates'
import { ProviderRecords } from '../../../electron/core/router/provider-records'
import { RELAYED_PENALTY, score } from '../../../electron/core/router/scoring'
import { call, collect, honest, mesh, SHA } from './scripted-mesh'

const base: Candidate = {
  peerId: 'p',
  local: false,
  sha256: SHA,
  decodeTokensPerSecond: 50,
  ttftMs: 100,
  rttMs: 20,
  throughputMbps: 100,
  advertQueue: 0,
  capacity: 1
}

describe('scoring of relayed providers', () => {
  it('prefers a direct provider over an equal relayed one', () => {
    const records = new ProviderRecords()
    const direct = score({ ...base, peerId: 'd', connection: 'direct' }, records, 0, 0.5)
    const relayed = score({ ...base, peerId: 'r', connection: 'relayed' }, records, 0, 0.5)
    expect(direct).toBeGreaterThan(relayed)
    expect(direct / relayed).toBeCloseTo(RELAYED_PENALTY, 5)
  })

  it('scores a relayed provider by its measured RTT and throughput: a much faster one still wins', () => {
    const records = new ProviderRecords()
    const slowDirect = score({ ...base, peerId: 'd', connection: 'direct', decodeTokensPerSecond: 5 }, records, 0, 0.5)
    const fastRelayed = score(
      { ...base, peerId: 'r', connection: 'relayed', decodeTokensPerSecond: 200 },
      records,
      0,
      0.5
    )
    expect(fastRelayed).toBeGreaterThan(slowDirect)
    // a slow relay link (measured) costs it the lead again
    const slowLink = score(
      { ...base, peerId: 'r', connection: 'relayed', decodeTokensPerSecond: 200, rttMs: 900, throughputMbps: 0.02 },
      records,
      0,
      0.5
    )
    expect(slowLink).toBeLessThan(slowDirect)
  })
})

/** A router over honest providers whose connection kind and relay budget the test sets. */
function relayMesh(kinds: Record<string, ConnectionKind>, budgets: Record<string, RelayBudget | undefined>) {
  const scripts = Object.fromEntries(Object.keys(kinds).map((peerId) => [peerId, honest]))
  return mesh(scripts, {
    links: { connectionKind: (id) => kinds[id], relayBudget: (id) => budgets[id] }
  })
}

describe('relay limits bound what runs over a relayed connection', () => {
  it('a job that fits the relay budget runs over it', async () => {
    const { router, opened } = relayMesh({ r: 'relayed' }, { r: { bytes: 16 * 1024 * 1024, ms: 300_000 } })
    const result = await collect(router, call(6))
    expect(result.error).toBeUndefined()
    expect(opened.map((o) => o.peer)).toEqual(['r'])
  })

  it('a job that may need more bytes than the relay still allows is not sent there (503 when nothing else)', async () => {
    const { router, opened } = relayMesh({ r: 'relayed' }, { r: { bytes: 4_000, ms: 300_000 } })
    const result = await collect(router, call(100))
    expect((result.error as { code?: string }).code).toBe('no_provider_available')
    expect(opened.map((o) => o.peer)).toEqual([])
  })

  it('a job that may outlast the relay’s time is not sent there', async () => {
    const { router, opened } = relayMesh({ r: 'relayed' }, { r: { bytes: 16 * 1024 * 1024, ms: 2_000 } })
    // 2000 tokens at the advertised 100 tok/s take ~20 s, the relay allows 2 s more
    expect(((await collect(router, call(2000))).error as { code?: string }).code).toBe('no_provider_available')
    // a short one fits
    expect((await collect(router, call(6))).error).toBeUndefined()
    expect(opened.map((o) => o.peer)).toEqual(['r'])
  })

  it('a direct provider is preferred over an equal relayed one', async () => {
    const { router, opened } = relayMesh({ r: 'relayed', d: 'direct' }, { r: { bytes: 16 * 1024 * 1024, ms: 300_000 } })
    for (let i = 0; i < 5; i++) await collect(router, call(4))
    expect(new Set(opened.map((o) => o.peer))).toEqual(new Set(['d']))
  })
})
