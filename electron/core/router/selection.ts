import type { InferBody } from '../../../shared/infer'
import { relayLimitReason, relayNeed } from '../p2p/reachability-connection'
import type { Candidate } from './candidates'
import type { ProviderRecords } from './provider-records'
import { type RoutingPolicy, pick, priceWeights, score } from './scoring'
import type { StreamState } from './stream-state'
import type { ProviderTransport } from './transport'
import type { TrustSource } from './trust-source'

/** Once tokens have arrived, only a provider of the same GGUF may continue them. */
export function sameModel(c: Candidate, state: StreamState): boolean {
  return !state.received || state.sha256 === undefined || c.sha256 === state.sha256
}

/**
 * Picks among the allowed candidates by score (speed, trust, load, price). When every one is
 * ejected after recent failures, the one whose ejection ends first is tried rather than none
 * (panic routing).
 */
export function selectProvider(
  all: Candidate[],
  deps: { records: ProviderRecords; trust: TrustSource; inflight: Map<string, number>; policy?: RoutingPolicy }
): Candidate | undefined {
  const { records } = deps
  const ready = all.filter((c) => records.ejectedFor(c.peerId) === 0)
  const priceWeight = priceWeights(ready)
  const scoreOf = (c: Candidate): number =>
    score(c, records, deps.inflight.get(c.peerId) ?? 0, deps.trust.trust(c.peerId)) * priceWeight(c)
  if (ready.length > 0) return pick(ready, scoreOf, deps.policy)
  return [...all].sort((a, b) => records.ejectedFor(a.peerId) - records.ejectedFor(b.peerId))[0]
}

/** Why a job may not run over this relayed connection (bytes or time the relay still allows), if so. */
export function relayRefusal(
  c: Candidate,
  call: InferBody,
  records: ProviderRecords,
  transport: ProviderTransport
): string | undefined {
  const record = records.get(c.peerId)
  const speed = {
    tokensPerSecond: record.tokensPerSecond ?? c.decodeTokensPerSecond,
    ttftMs: record.ttftMs ?? c.ttftMs
  }
  return relayLimitReason(transport.relayBudget?.(c.peerId), relayNeed(call, speed))
}
