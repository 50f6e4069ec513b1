import type { TopicValidatorFn } from '@libp2p/gossipsub'
import { afterEach, describe, expect, it } from 'vitest'
import { ReputationGossip, type GossipSink } from '../../../electron/core/reputation/gossip'
import { ObservationStore } from '../../../electron/core/reputation/observation-store'
import { TrustEngine } from '../../../electron/core/reputation/trust-engine'
import { createLogger } from '../../../electron/core/util/logger'

// When this node catches a provider lying, its next summary goes out as soon as receivers accept one
// again (half a period after the last, plus a margin), not a whole period later.

const SUBJECT = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const INTERVAL_MS = 2_000
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function setup() {
  const publishedAt: number[] = []
  const pubsub = {
    subscribe: () => undefined,
    unsubscribe: () => undefined,
    publish: async () => void publishedAt.push(performance.now()),
    topicValidators: new Map<string, TopicValidatorFn>()
  }
  const sink: GossipSink = {
    reporterSeqs: () => new Map(),
    acceptReport: () => undefined,
    summary: () => [{ peer: SUBJECT, positive: 0, negative: 10, caught: true }]
  }
  const gossip = new ReputationGossip(pubsub, {
    self: 'me',
    sink,
    logger: createLogger('t', { level: 'error' }),
    intervalMs: INTERVAL_MS
  })
  return { gossip, publishedAt }
}

let stop: (() => Promise<void>) | undefined
afterEach(async () => {
  await stop?.()
  stop = undefined
})

describe('reputation summaries after a catch', () => {
  it('goes out just over half a period after the last one, not a whole period', async () => {
    const { gossip, publishedAt } = setup()
    await gossip.start()
    stop = () => gossip.stop()
    // the first summary half a period after start
    for (let i = 0; i < 40 && publishedAt.length === 0; i++) await sleep(50)
    expect(publishedAt).toHaveLength(1)
    gossip.publishSoon()
    for (let i = 0; i < 60 && publishedAt.length === 1; i++) await sleep(50)
    const gap = publishedAt[1] - publishedAt[0]
    // receivers take one summary per half period from a reporter; the regular timer waits 0.9..1.1 periods
    expect(gap).toBeGreaterThanOrEqual(0.5 * INTERVAL_MS)
    expect(gap).toBeLessThan(0.85 * INTERVAL_MS)
  })

  it('does nothing before start or after stop', async () => {
    const { gossip, publishedAt } = setup()
    gossip.publishSoon()
    await gossip.start()
    await gossip.stop()
    gossip.publishSoon()
    await sleep(INTERVAL_MS * 0.7)
    expect(publishedAt).toHaveLength(0)
  })

  it('is asked for by the trust engine when this node catches a lie, not on a pass or a refusal', () => {
    const caught: string[] = []
    const store = new ObservationStore(':memory:')
    const engine = new TrustEngine({ self: 'me', store, onCaught: (peer) => caught.push(peer) })
    engine.noteChallenge('honest', 'pass')
    engine.noteChallenge('busy', 'refused')
    engine.noteChallenge('liar', 'mismatch')
    expect(caught).toEqual(['liar'])
    store.close()
  })
})
