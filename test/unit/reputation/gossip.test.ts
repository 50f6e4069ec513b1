import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { createPeerScoreParams } from '@libp2p/gossipsub/score'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { contentMsgId, reputationTopicScoreParams } from '../../../electron/core/p2p/gossip-config'
import { ReputationGossip } from '../../../electron/core/reputation/gossip'
import { ObservationStore } from '../../../electron/core/reputation/observation-store'
import { TrustEngine } from '../../../electron/core/reputation/trust-engine'
import { createLogger } from '../../../electron/core/util/logger'
import { MAX_REPORT_BYTES, REPUTATION_TOPIC, type ReputationReport } from '../../../shared/reputation'
import { waitFor } from '../../helpers/wait'

type Node = Libp2p<{ pubsub: GossipSub; identify: unknown }>

function node(): Promise<Node> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        msgIdFn: contentMsgId,
        scoreParams: createPeerScoreParams({ topics: { [REPUTATION_TOPIC]: reputationTopicScoreParams() } })
      })
    }
  }) as Promise<Node>
}

const SUBJECT = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
/** gossipsub's own peer score (the class has it; the service interface does not name it). */
const scoreOf = (n: Node, peer: Node): number =>
  (n.services.pubsub as unknown as { getScore(id: string): number }).getScore(peer.peerId.toString())
const encode = (x: unknown): Uint8Array => new TextEncoder().encode(typeof x === 'string' ? x : JSON.stringify(x))

describe('reputation gossip between real libp2p nodes', () => {
  let receiver: Node, honest: Node, rogue: Node
  let gossip: ReputationGossip
  let engine: TrustEngine
  let store: ObservationStore
  const report = (from: Node, patch: Partial<ReputationReport> = {}): ReputationReport => ({
    v: 1,
    reporter: from.peerId.toString(),
    seq: Date.now(),
    at: Date.now(),
    subjects: [{ peer: SUBJECT, positive: 0, negative: 4, caught: true }],
    ...patch
  })
  const dropped = (reason: keyof ReputationGossip['counters']['dropped'], n: number) =>
    waitFor(() => gossip.counters.dropped[reason] >= n, 15_000, {
      what: `${n} '${reason}' drop(s)`,
      state: () => JSON.stringify(gossip.counters)
    })

  beforeAll(async () => {
    ;[receiver, honest, rogue] = await Promise.all([node(), node(), node()])
    store = new ObservationStore(':memory:')
    engine = new TrustEngine({ self: receiver.peerId.toString(), store })
    gossip = new ReputationGossip(receiver.services.pubsub, {
      self: receiver.peerId.toString(),
      sink: engine,
      logger: createLogger('test', { level: 'error' }),
      intervalMs: 60_000,
      minIntervalMs: 1_000
    })
    await gossip.start()
    for (const n of [honest, rogue]) {
      n.services.pubsub.subscribe(REPUTATION_TOPIC)
      await n.dial(receiver.getMultiaddrs()[0])
    }
    await waitFor(
      () =>
        [honest, rogue].every((n) =>
          n.services.pubsub.getSubscribers(REPUTATION_TOPIC).some((p) => p.equals(receiver.peerId))
        ),
      10_000,
      { what: 'subscriptions' }
    )
  })

  afterAll(async () => {
    await gossip?.stop()
    await Promise.all([receiver, honest, rogue].map((n) => n?.stop()))
    store?.close()
  })

  it('accepts a signed summary and lets it move trust', async () => {
    const before = engine.trust(SUBJECT)
    await honest.services.pubsub.publish(REPUTATION_TOPIC, encode(report(honest)))
    await waitFor(() => gossip.counters.accepted === 1, 15_000, { what: 'acceptance' })
    expect(engine.trust(SUBJECT)).toBeLessThan(before)
    expect(engine.evidence(SUBJECT).gossip).toMatchObject({ reporters: 1, caughtBy: 1 })
  })

  it('drops a replayed sequence number and counts it', async () => {
    const seq = [...engine.reporterSeqs().values()][0]
    await new Promise((r) => setTimeout(r, 1_100))
    await honest.services.pubsub.publish(REPUTATION_TOPIC, encode(report(honest, { seq, at: Date.now() + 1 })))
    await dropped('replay', 1)
    expect(gossip.counters.accepted).toBe(1)
  })

  it('treats the same bytes under a new gossipsub seqno as a duplicate (message ids by content)', async () => {
    const bytes = encode(report(honest, { seq: Date.now() + 10_000 }))
    await new Promise((r) => setTimeout(r, 1_100))
    await honest.services.pubsub.publish(REPUTATION_TOPIC, bytes)
    await waitFor(() => gossip.counters.accepted === 2, 15_000, { what: 'acceptance' })
    await expect(honest.services.pubsub.publish(REPUTATION_TOPIC, bytes)).rejects.toThrow(/duplicate/i)
  })

  it('drops forged, malformed, oversized, out-of-window, self-praising and too-frequent summaries, and scores the sender down', async () => {
    const pub = (x: unknown): Promise<unknown> => rogue.services.pubsub.publish(REPUTATION_TOPIC, encode(x))
    await pub(report(rogue, { reporter: honest.peerId.toString() }))
    await dropped('forged', 1)
    await pub('{"v":1,"reporter":')
    await pub({ v: 1, reporter: rogue.peerId.toString(), seq: 1, at: Date.now(), subjects: 'nope' })
    await dropped('malformed', 2)
    await rogue.services.pubsub.publish(REPUTATION_TOPIC, new Uint8Array(MAX_REPORT_BYTES + 1).fill(32))
    await dropped('oversized', 1)
    await pub(report(rogue, { at: Date.now() - 3_600_000 }))
    await dropped('stale', 1)
    await pub(report(rogue, { at: Date.now() + 3_600_000 }))
    await dropped('future', 1)
    await pub(report(rogue, { subjects: [{ peer: rogue.peerId.toString(), positive: 1000, negative: 0 }] }))
    await dropped('self', 1)
    await pub(report(rogue, { seq: Date.now() }))
    await waitFor(() => gossip.counters.accepted === 3, 15_000, { what: 'the rogue’s one valid summary' })
    await pub(report(rogue, { seq: Date.now() + 1 }))
    await dropped('rate', 1)
    expect(gossip.counters.accepted).toBe(3)
    // forged, 2 malformed, oversized, stale, future, self, rate: counted against the sender
    expect(gossip.droppedFromPeer(rogue.peerId.toString())).toBe(8)
    await waitFor(() => scoreOf(receiver, rogue) < 0, 15_000, { what: 'a negative gossipsub score for the rogue' })
    expect(scoreOf(receiver, honest)).toBeGreaterThanOrEqual(0)
  })
})
