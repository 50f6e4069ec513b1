import { createHash } from 'node:crypto'
import type { Message } from '@libp2p/gossipsub'
import { createTopicScoreParams, type TopicScoreParams } from '@libp2p/gossipsub/score'
import type { AddressScope } from './address-scope'

/**
 * Message ids by content (topic + payload), not by sender and sequence number: a replayed payload
 * re-signed under a new gossipsub seqno is still a duplicate and is not forwarded again.
 */
export function contentMsgId(message: Message): Uint8Array {
  return createHash('sha256').update(message.topic).update('\n').update(message.data).digest()
}

/**
 * The same id as `contentMsgId`, from the raw RPC message, as a string: gossipsub checks it against
 * its seen cache before it verifies the signature, so each copy of a message that D mesh peers
 * forward costs a hash instead of an ed25519 verification (the bulk of idle gossip CPU).
 */
export function fastContentMsgId(message: { topic?: string; data?: Uint8Array }): string {
  const hash = createHash('sha256')
  hash.update(message.topic ?? '').update('\n')
  if (message.data !== undefined) hash.update(message.data)
  return hash.digest('base64')
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

/**
 * Source IPs exempt from gossipsub's IP colocation penalty (P6). By default more than 10 peers from
 * one IP cost each of them (surplus)² × 5 points: 14 peers on one address are graylisted (−80) and
 * get no gossip at all, which is right against a Sybil farm on one public IP but cuts a mesh of
 * local processes apart. Only a mesh scoped to this machine exempts loopback (a peer that reaches us
 * from 127.0.0.1 runs here); LAN and public scopes keep the full penalty.
 */
export function ipColocationWhitelist(scope: AddressScope): Set<string> {
  return scope === 'loopback' ? new Set(['127.0.0.1', '::1']) : new Set()
}
