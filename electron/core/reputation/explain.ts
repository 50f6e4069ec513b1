import type { ChallengeVerdict, TrustEvidence } from '../../../shared/reputation'
import { LIE_VERDICTS } from './evidence'

/** One sentence for the owner: what this node's trust in a peer rests on. */
export function explain(e: Omit<TrustEvidence, 'why'>, preTrusted: boolean): string {
  const parts: string[] = []
  const { direct, challenges, gossip } = e
  const failed = Object.entries(direct.failures).filter(([k]) => k !== 'refused')
  const failures = failed.reduce((n, [, v]) => n + v, 0)
  if (challenges.sent > 0) {
    const caught = Object.entries(challenges.byVerdict).filter(([v]) => LIE_VERDICTS.has(v as ChallengeVerdict))
    const caughtText = caught.length > 0 ? `; caught: ${caught.map(([v, n]) => `${v} ${n}`).join(', ')}` : ''
    const last = challenges.last
      ? ` (last: ${challenges.last.verdict}${challenges.last.detail ? ` — ${challenges.last.detail}` : ''})`
      : ''
    parts.push(`passed ${challenges.passed} of ${challenges.sent} verification challenges${caughtText}${last}`)
  }
  if (direct.successes + failures > 0) {
    const kinds = failed.map(([k, v]) => `${k} ${v}`).join(', ')
    parts.push(`${direct.successes} jobs served well, ${failures} failed${kinds ? ` (${kinds})` : ''}`)
  }
  if (direct.tokensPerSecond !== undefined && direct.advertTokensPerSecond !== undefined) {
    parts.push(`measured ${direct.tokensPerSecond} tok/s against an advertised ${direct.advertTokensPerSecond}`)
  }
  if (gossip.reporters > 0) {
    parts.push(`${gossip.reporters} peers report on it (${gossip.caughtBy} caught it lying)`)
  }
  if (preTrusted) parts.push('the owner lists it as trusted')
  if (parts.length === 0) return 'nothing known yet: a newcomer starts low until it serves or passes a challenge'
  return parts.join('; ')
}
