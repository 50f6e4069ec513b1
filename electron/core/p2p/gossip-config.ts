import { createHash } from 'node:crypto'
import type { Message } from '@libp2p/gossipsub'
import { createTopicScoreParams, type TopicScoreParams } from '@libp2p/gossipsub/score'

/**
 * Message ids by content (topic + payload), not by sender and sequence number: a replayed payload
 * re-signed under a new gossipsub seqno is still a duplicate and is not forwarded again.
 */
export function contentMsgId(message: Message): Uint8Array {
  return createHash('sha256').update(message.topic).update('\n').update(message.data).digest()
}

/**
 * Scoring on the reputation topic: a peer that sends summaries our validator rejects (forged,
 * malformed, oversized) loses score and is graylisted after a few. The topic is quiet, so missing
 * mesh deliveries are not penalised.
 */
export function reputationTopicScoreParams(): TopicScoreParams {
  return createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1_000,
    timeInMeshCap: 300,
    firstMessageDeliveriesWeight: 0.5,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 20,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -20,
    invalidMessageDeliveriesDecay: 0.9
  })
}
