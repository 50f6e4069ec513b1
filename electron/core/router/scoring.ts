import { blendedPrice } from '../../../shared/price'
import type { Candidate } from './candidates'
import type { ProviderRecords } from './provider-records'

export const ROUTING_POLICIES = ['p2c', 'best', 'random'] as const
export type RoutingPolicy = (typeof ROUTING_POLICIES)[number]

/** Tokens a typical answer is assumed to have when turning speed into expected time. */
const TYPICAL_TOKENS = 128
const DEFAULT_TPS = 20
const DEFAULT_TTFT_MS = 300
const DEFAULT_RTT_MS = 50
/** Bytes a typical job moves over the link (request, token frames, final frame). */
const TYPICAL_BYTES = 64 * 1024
/**
 * A relayed provider's expected time is stretched by this: besides the measured extra hop, the
 * relay may cut the connection at its limits and is someone else's bandwidth. Direct wins a tie.
 */
export const RELAYED_PENALTY = 2
/**
 * Trust at which a provider counts as fully trusted when scoring: about what one passed verification
 * (and nothing against it) earns. Above it speed and load decide: a newcomer of equal speed that
 * passed its checks must get traffic to earn a record, where a divisor of 0.7 against 1.0 would have
 * p2c never pick it among three.
 */
export const TRUSTED_ENOUGH = 0.65

/**
 * Expected-time score, higher is better: trust divided by the time the job would take there —
 * RTT + transfer over the measured link + TTFT + decode of a typical answer, stretched by its queue.
 * Speeds measured by our own clock win over the advert's. `inflight` is how many of our own
 * requests run there now (fresher than its advert); `trust` is the TrustSource's value, 0..1 (from
 * TRUSTED_ENOUGH up it counts as 1).
 */
export function score(c: Candidate, records: ProviderRecords, inflight: number, trust?: number): number {
  const record = records.get(c.peerId)
  const tps = record.tokensPerSecond ?? c.decodeTokensPerSecond ?? DEFAULT_TPS
  const ttft = record.ttftMs ?? c.ttftMs ?? DEFAULT_TTFT_MS
  const queue = Math.max(c.advertQueue, inflight)
  const stretch = 1 + queue / c.capacity
  const transferMs =
    c.throughputMbps !== undefined && c.throughputMbps > 0 ? (TYPICAL_BYTES * 8) / (c.throughputMbps * 1000) : 0
  const baseMs =
    (c.rttMs ?? DEFAULT_RTT_MS) + transferMs + ttft * stretch + (1000 * TYPICAL_TOKENS * stretch) / Math.max(tps, 0.1)
  const expectedMs = c.connection === 'relayed' ? baseMs * RELAYED_PENALTY : baseMs
  const confidence = Math.min(1, Math.max(0.01, trust ?? reliability(records, c.peerId)) / TRUSTED_ENOUGH)
  return confidence / expectedMs
}

/**
 * Picks one candidate. `p2c` samples two at random and keeps the better (spreads load, never picks
 * the worst); `best` always takes the top score; `random` ignores scores.
 */
export function pick<T extends Candidate>(
  candidates: T[],
  scoreOf: (c: T) => number,
  policy: RoutingPolicy = 'p2c',
  random: () => number = Math.random
): T | undefined {
  if (candidates.length <= 1) return candidates[0]
  if (policy === 'random') return candidates[Math.floor(random() * candidates.length)]
  if (policy === 'best') return candidates.reduce((a, b) => (scoreOf(b) > scoreOf(a) ? b : a))
  const i = Math.floor(random() * candidates.length)
  let j = Math.floor(random() * (candidates.length - 1))
  if (j >= i) j++
  const a = candidates[i]
  const b = candidates[j]
  return scoreOf(b) > scoreOf(a) ? b : a
}

/**
 * Price against speed and trust: each score is scaled by (cheapest + mean) / (price + mean), prices
 * blended over prompt and completion. Equal prices change nothing; at 3× the cheapest price (1 vs 3)
 * a provider needs a 1.67× better score to win, so a much faster one still can. This node's own
 * runtime costs nothing.
 */
export function priceWeights(candidates: readonly Candidate[]): (c: Candidate) => number {
  const blended = (c: Candidate): number => (c.price === undefined ? 0 : blendedPrice(c.price))
  const prices = candidates.map(blended)
  const mean = prices.reduce((a, b) => a + b, 0) / Math.max(1, prices.length)
  if (mean === 0) return () => 1
  const cheapest = Math.min(...prices)
  return (c) => (cheapest + mean) / (blended(c) + mean)
}

/** Laplace-smoothed success ratio of our own record, timeouts counted twice. */
function reliability(records: ProviderRecords, peerId: string): number {
  const r = records.get(peerId)
  return (r.successes + 1) / (r.successes + r.failures + r.timeouts + 2)
}
