import type { PeerView } from '../../../shared/api'
import type { TrustEvidence } from '../../../shared/reputation'

/** The structured evidence when the node's trust source gives it (older nodes give a flat record). */
export function trustEvidenceOf(peer: PeerView): TrustEvidence | undefined {
  const e = peer.trustEvidence as Partial<TrustEvidence>
  return typeof e.direct === 'object' && typeof e.challenges === 'object' && typeof e.gossip === 'object'
    ? (e as TrustEvidence)
    : undefined
}

/** Decode speed this node measured itself. */
export function measuredSpeed(peer: PeerView): number | undefined {
  const v = trustEvidenceOf(peer)?.direct.tokensPerSecond ?? peer.trustEvidence.tokensPerSecond
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

/** "12 ok · 1 failed · 2/2 challenges" under the trust bar. */
export function trustSummary(peer: PeerView): string | undefined {
  const e = trustEvidenceOf(peer)
  if (e === undefined) {
    // a flat record of this node's own outcomes (a trust source without challenges or gossip)
    const { successes, failures } = peer.trustEvidence
    return typeof successes === 'number' && typeof failures === 'number'
      ? `${successes} ok · ${failures} failed`
      : undefined
  }
  const failed = Object.entries(e.direct.failures)
    .filter(([k]) => k !== 'refused')
    .reduce((n, [, v]) => n + v, 0)
  const parts = [`${e.direct.successes} ok · ${failed} failed`]
  if (e.challenges.sent > 0) parts.push(`${e.challenges.passed}/${e.challenges.sent} checks`)
  if (e.gossip.reporters > 0) parts.push(`${e.gossip.reporters} reports`)
  return parts.join(' · ')
}

/** The peer's detail: why this node trusts it or not, from its own evidence, its checks and gossip. */
export function PeerTrustDetail({ peer }: { peer: PeerView }) {
  const e = trustEvidenceOf(peer)
  if (e === undefined) return <div className="muted">No trust evidence yet.</div>
  const failures = Object.entries(e.direct.failures)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  const verdicts = Object.entries(e.challenges.byVerdict)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  return (
    <div className="peer-trust" data-testid="peer-trust-detail">
      <p>
        <strong>Trust {Math.round(e.trust * 100)}%</strong> (this node skips peers below {Math.round(e.threshold * 100)}
        %): {e.why}.
      </p>
      {peer.excludedReason ? <p className="bad">Skipped: {peer.excludedReason}</p> : null}
      <ul className="small">
        <li>
          Own jobs: {e.direct.successes} served well{failures ? `; failed: ${failures}` : ''}
          {e.direct.tokensPerSecond !== undefined ? `; measured ${Math.round(e.direct.tokensPerSecond)} tok/s` : ''}
          {e.direct.advertTokensPerSecond !== undefined
            ? ` (advertised ${Math.round(e.direct.advertTokensPerSecond)})`
            : ''}
        </li>
        <li>
          Verification challenges: {e.challenges.passed} of {e.challenges.sent} passed{verdicts ? ` (${verdicts})` : ''}
          {e.challenges.last
            ? `; last: ${e.challenges.last.verdict}${e.challenges.last.detail ? ` — ${e.challenges.last.detail}` : ''}`
            : ''}
        </li>
        <li>
          Gossip: {e.gossip.reporters} peers report on it, {e.gossip.caughtBy} caught it lying; their evidence{' '}
          {e.gossip.positive} for, {e.gossip.negative} against
          {e.gossip.droppedFromIt ? `; ${e.gossip.droppedFromIt} of its own summaries dropped as invalid` : ''}
        </li>
      </ul>
    </div>
  )
}
