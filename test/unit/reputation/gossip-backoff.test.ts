import type { TopicValidatorFn } from '@libp2p/gossipsub'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ReportedSubject } from '../../../shared/reputation'
import { MAX_QUIET_PERIODS, ReputationGossip, summaryFingerprint } from '../../../electron/core/reputation/gossip'
import { createLogger } from '../../../electron/core/util/logger'

// An idle node's summary does not change, and a mesh where every node republishes every period makes
// each node's idle gossip grow with the mesh: an unchanged summary backs off, news goes out at once.

const SUBJECT = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const OTHER = '12D3KooWFx8p6k5P9xLbb3HqM6huWisMFJad3HBVSE4svDSC8rg2'
const PERIOD_MS = 30_000
const HOUR_MS = 3_600_000

function setup(initial: ReportedSubject[]) {
  const published: Array<{ at: number; subjects: ReportedSubject[] }> = []
  let subjects = initial
  const pubsub = {
    subscribe: () => undefined,
    unsubscribe: () => undefined,
    publish: async (_topic: string, data: Uint8Array) =>
      void published.push({ at: Date.now(), subjects: JSON.parse(new TextDecoder().decode(data)).subjects }),
    topicValidators: new Map<string, TopicValidatorFn>()
  }
  const gossip = new ReputationGossip(pubsub, {
    self: 'me',
    sink: { reporterSeqs: () => new Map(), acceptReport: () => undefined, summary: () => subjects },
    logger: createLogger('t', { level: 'error' }),
    intervalMs: PERIOD_MS
  })
  return { gossip, published, set: (next: ReportedSubject[]) => (subjects = next) }
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_800_000_000_000 })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('reputation summaries at idle', () => {
  it('an unchanged summary goes out again less and less often, but still goes out', async () => {
    const { gossip, published } = setup([{ peer: SUBJECT, positive: 12, negative: 0 }])
    await gossip.start()
    await vi.advanceTimersByTimeAsync(HOUR_MS)
    await gossip.stop()
    // every period would be 120 in an hour; backing off 1, 2, 4, 8, 16 periods leaves about a dozen
    expect(published.length).toBeLessThanOrEqual(14)
    expect(published.length).toBeGreaterThanOrEqual(6)
    const gaps = published.slice(1).map((p, i) => p.at - published[i].at)
    // never quieter than the cap, so a peer that joins hears this node within it
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1.15 * MAX_QUIET_PERIODS * PERIOD_MS)
  })

  it('news goes out within a period, however long the summary was quiet', async () => {
    const { gossip, published, set } = setup([{ peer: SUBJECT, positive: 12, negative: 0 }])
    await gossip.start()
    await vi.advanceTimersByTimeAsync(HOUR_MS)
    const quietSince = published.length
    set([
      { peer: SUBJECT, positive: 12, negative: 0 },
      { peer: OTHER, positive: 0, negative: 6 }
    ])
    const changedAt = Date.now()
    await vi.advanceTimersByTimeAsync(1.2 * PERIOD_MS)
    await gossip.stop()
    const news = published[quietSince]
    expect(news).toBeDefined()
    expect(news.at - changedAt).toBeLessThanOrEqual(1.1 * PERIOD_MS)
    expect(news.subjects).toHaveLength(2)
  })

  it('a catch is published soon even when the fingerprint did not change', async () => {
    const { gossip, published } = setup([{ peer: SUBJECT, positive: 0, negative: 10, caught: true }])
    await gossip.start()
    await vi.advanceTimersByTimeAsync(HOUR_MS)
    const before = published.length
    gossip.publishSoon()
    await vi.advanceTimersByTimeAsync(0.6 * PERIOD_MS)
    await gossip.stop()
    expect(published.length).toBe(before + 1)
  })
})

describe('summaryFingerprint', () => {
  it('ignores slow decay and mass past what a receiver counts, sees a new ratio or a catch', () => {
    const base = summaryFingerprint([{ peer: SUBJECT, positive: 40, negative: 0 }])
    expect(summaryFingerprint([{ peer: SUBJECT, positive: 39.9, negative: 0 }])).toBe(base)
    expect(summaryFingerprint([{ peer: SUBJECT, positive: 400, negative: 0 }])).toBe(base)
    expect(summaryFingerprint([{ peer: SUBJECT, positive: 30, negative: 10 }])).not.toBe(base)
    expect(summaryFingerprint([{ peer: SUBJECT, positive: 40, negative: 0, caught: true }])).not.toBe(base)
    expect(summaryFingerprint([{ peer: SUBJECT, positive: 2, negative: 0 }])).not.toBe(base)
  })
})
