import type { Message, TopicValidatorFn } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { describe, expect, it } from 'vitest'
import { ReputationGossip, type GossipSink } from '../../../electron/core/reputation/gossip'
import { ObservationStore } from '../../../electron/core/reputation/observation-store'
import { TrustEngine } from '../../../electron/core/reputation/trust-engine'
import { createLogger } from '../../../electron/core/util/logger'
import { MAX_REPORTED_MASS, REPUTATION_TOPIC, ReputationReportSchema } from '../../../shared/reputation'

// A busy router has more evidence of a provider than a summary may carry (MAX_REPORTED_MASS). Its
// summaries must still pass every receiver's validator: one rejected as malformed costs the router
// its gossipsub score, and a graylisted router's news of a liar never reaches anyone.

const ROUTER = '12D3KooWL2i6p6GjwWswCYGFns98EkVK6TyxBZ5ygjfLgMXLoarY'
const RECEIVER = '12D3KooWS35tirahXobBaSS5EABuKhUUdkPEAVCSjS1srJ4Tma27'
const BUSY = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const LIAR = '12D3KooWPCrmwqKaDaxZ77Gqgcj14vjrKBpCUMLt7LNWM3X75EyH'
const logger = createLogger('t', { level: 'error' })

function gossipOf(self: string, sink: GossipSink, published: Uint8Array[]): ReputationGossip {
  const pubsub = {
    subscribe: () => undefined,
    unsubscribe: () => undefined,
    publish: async (_topic: string, data: Uint8Array) => void published.push(data),
    topicValidators: new Map<string, TopicValidatorFn>()
  }
  return new ReputationGossip(pubsub, { self, sink, logger, intervalMs: 30_000 })
}

describe("a busy router's summary", () => {
  it('carries thousands of jobs of evidence within the schema, ratio kept, and receivers accept it', async () => {
    const store = new ObservationStore(':memory:')
    const engine = new TrustEngine({ self: ROUTER, store })
    for (let i = 0; i < 2_400; i++) engine.noteAttempt({ provider: BUSY, local: false, kind: 'ok', tokens: 16 })
    for (let i = 0; i < 600; i++)
      engine.noteAttempt({ provider: BUSY, local: false, kind: 'failed', failure: 'stream', tokens: 0 })
    engine.noteChallenge(LIAR, 'mismatch', 'garbage')
    const published: Uint8Array[] = []
    expect(await gossipOf(ROUTER, engine, published).publish()).toBe(true)

    const report = ReputationReportSchema.parse(JSON.parse(new TextDecoder().decode(published[0])))
    const busy = report.subjects.find((s) => s.peer === BUSY)
    expect(busy?.positive).toBeLessThanOrEqual(MAX_REPORTED_MASS)
    expect(busy!.positive / busy!.negative).toBeCloseTo(2_400 / 600, 1)
    expect(report.subjects.find((s) => s.peer === LIAR)).toMatchObject({ caught: true })

    const accepted: string[] = []
    const receiver = gossipOf(
      RECEIVER,
      {
        reporterSeqs: () => new Map(),
        acceptReport: (reporter) => void accepted.push(reporter),
        summary: () => []
      },
      []
    )
    const message = { type: 'signed', from: { toString: () => ROUTER }, topic: REPUTATION_TOPIC, data: published[0] }
    expect(receiver.validate(undefined, message as unknown as Message)).toBe(TopicValidatorResult.Accept)
    expect(accepted).toEqual([ROUTER])
    expect(receiver.counters.dropped.malformed).toBe(0)
    store.close()
  })
})
