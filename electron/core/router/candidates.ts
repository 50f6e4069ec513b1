import type { Advert } from '../../../shared/advert'
import { type ModelPrice, priceOf } from '../../../shared/price'
import type { ConnectionKind } from '../../../shared/api'
import type { PeerTable } from '../p2p/peer-table'
import type { InferenceRuntime } from '../runtime/types'
import type { BenchmarkMap } from '../../../shared/hardware'

/** One place a request could go: a remote provider, or this node's own runtime. */
export interface Candidate {
  peerId: string
  local: boolean
  sha256?: string
  /** The model's context as the provider advertises it (bounds a request without max_tokens). */
  contextLength?: number
  decodeTokensPerSecond?: number
  ttftMs?: number
  rttMs?: number
  /** Link throughput measured by the bench protocol, Mbit/s. */
  throughputMbps?: number
  /** Jobs running + queued there, as its advert said. */
  advertQueue: number
  capacity: number
  /** Credits per million tokens there; this node's own runtime costs nothing. */
  price?: ModelPrice
  /** How this node reaches it now; a relayed provider is scored lower and bound by the relay's limits. */
  connection?: ConnectionKind
}

export interface LocalRuntimeSource {
  peerId: string
  runtime: () => InferenceRuntime | undefined
  isPaused: () => boolean
  benchmark?: () => BenchmarkMap
}

export function remoteCandidates(peers: PeerTable, model: string, selfId?: string): Candidate[] {
  return peers
    .candidates(model)
    .filter((entry) => entry.peerId !== selfId)
    .map((entry) => ({
      ...fromAdvert(entry.peerId, entry.advert, model, entry.rttMs),
      throughputMbps: entry.throughputMbps
    }))
}

function fromAdvert(peerId: string, advert: Advert, model: string, rttMs?: number): Candidate {
  const bench = advert.benchmark[model]
  const served = advert.models.find((m) => m.name === model)
  return {
    peerId,
    local: false,
    sha256: served?.sha256,
    contextLength: served?.contextLength,
    decodeTokensPerSecond: bench?.decodeTokensPerSecond,
    ttftMs: bench?.ttftMs,
    rttMs,
    advertQueue: advert.load.inflight + advert.load.queued,
    capacity: Math.max(1, advert.load.capacity),
    price: priceOf(advert.price, model)
  }
}

export function localCandidate(local: LocalRuntimeSource | undefined, model: string): Candidate | undefined {
  if (local === undefined || local.isPaused()) return undefined
  const runtime = local.runtime()
  if (runtime === undefined || runtime.endpoint() === undefined) return undefined
  const served = runtime.models().find((m) => m.name === model)
  if (served === undefined) return undefined
  const bench = local.benchmark?.()[model]
  return {
    peerId: local.peerId,
    local: true,
    sha256: served.sha256,
    contextLength: served.contextLength,
    decodeTokensPerSecond: bench?.decodeTokensPerSecond,
    ttftMs: bench?.ttftMs,
    rttMs: 0,
    advertQueue: 0,
    capacity: 1,
    price: { prompt: 0, completion: 0 }
  }
}
