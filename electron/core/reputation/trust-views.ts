import { MAX_REPORTED_MASS, type ReportedSubject, type TrustEvidence } from '../../../shared/reputation'
import { PeerEvidence } from './evidence'
import { explain } from './explain'
import type { GossipView } from './trust-math'

/** What the engine knows of one provider at one moment, for the owner's "why" view. */
export interface EvidenceFacts {
  evidence: PeerEvidence | undefined
  now: number
  halfLifeMs: number
  trust: number
  threshold: number
  gossip: GossipView | undefined
  advert: number | undefined
  reporterWeight: number
  preTrusted: boolean
}

/** The owner's view of a provider: direct evidence, challenges, gossip, and one sentence on why. */
export function evidenceView(f: EvidenceFacts): TrustEvidence {
  const e = f.evidence ?? new PeerEvidence()
  const { now, halfLifeMs, advert } = f
  const g = f.gossip
  const evidence: Omit<TrustEvidence, 'why'> = {
    trust: round(f.trust),
    threshold: f.threshold,
    direct: {
      successes: e.successes,
      failures: { ...e.failures },
      positive: round(e.positive.valueAt(now, halfLifeMs)),
      negative: round(e.negative.valueAt(now, halfLifeMs)),
      ...(e.ttftMs !== undefined ? { ttftMs: round(e.ttftMs) } : {}),
      ...(e.tokensPerSecond !== undefined ? { tokensPerSecond: round(e.tokensPerSecond) } : {}),
      ...(advert !== undefined ? { advertTokensPerSecond: advert } : {}),
      ...(e.lastAt !== undefined ? { lastAt: e.lastAt } : {})
    },
    challenges: {
      sent: e.challengesSent,
      passed: e.challengesPassed,
      byVerdict: { ...e.byVerdict },
      ...(e.lastChallenge ? { last: e.lastChallenge } : {})
    },
    gossip: {
      reporters: g?.reporters ?? 0,
      positive: round(g?.positive ?? 0),
      negative: round(g?.negative ?? 0),
      caughtBy: g?.caughtBy ?? 0,
      reporterWeight: round(f.reporterWeight)
    }
  }
  return { ...evidence, why: explain(evidence, f.preTrusted) }
}

/** What this node tells the mesh: its own direct evidence only (never re-gossiped gossip). */
export function directSummary(
  peers: ReadonlyMap<string, PeerEvidence>,
  now: number,
  halfLifeMs: number,
  max: number
): ReportedSubject[] {
  const recently = now - halfLifeMs
  return [...peers]
    .map(([peer, e]) => ({
      peer,
      ...withinSchema(e.positive.valueAt(now, halfLifeMs), e.negative.valueAt(now, halfLifeMs)),
      caught: (e.caughtAt ?? 0) > recently
    }))
    .filter((s) => s.positive + s.negative >= 0.01)
    .sort((a, b) => Number(b.caught) - Number(a.caught) || b.positive + b.negative - (a.positive + a.negative))
    .slice(0, max)
}

/**
 * Evidence scaled down, ratio kept, to the mass a summary may carry: a busy router has thousands of
 * jobs' evidence of one provider, and receivers reject a larger number as malformed (and graylist the
 * sender). Receivers clip every reporter to a few units by the same ratio, so nothing is lost.
 */
function withinSchema(positive: number, negative: number): { positive: number; negative: number } {
  const scale = Math.min(1, MAX_REPORTED_MASS / Math.max(positive, negative, 1))
  return { positive: round(positive * scale), negative: round(negative * scale) }
}

function round(x: number): number {
  return Math.round(x * 100) / 100
}
