import type { ChallengeVerdict } from '../../../shared/reputation'
import { type ChallengeRun, compareOutputs, judgeRun } from './challenge'
import type { ChallengeTarget, ChallengerInit } from './challenger'
import { SPEED_LIE_FACTOR, WEIGHTS } from './evidence'
import type { TrustEngine } from './trust-engine'

/** Judges a challenge run: alone first (complete, honest), then against references of the same GGUF, then its speed. */
export function judgeChallenge(
  engine: TrustEngine,
  target: ChallengeTarget,
  run: ChallengeRun,
  maxTokens: number,
  refs: Array<Reference & { run: ChallengeRun }>
): Judged {
  const judged = judgeRun(run, maxTokens)
  if (judged.verdict !== 'pass') return { ...judged, ...(judged.honestRefusal ? { weight: 0 } : {}) }
  const unit = run.idsKnown && refs.every((r) => r.run.idsKnown) ? 'tokens' : 'characters'
  const checks = refs.map((r) => ({ ...r, cmp: compareOutputs(run, r.run) }))
  const trusted = checks.find((c) => c.trusted)
  const agreeing = checks.filter((c) => c.cmp.agree)
  // a trusted reference decides alone; two untrusted ones decide when they agree with each other
  const against =
    trusted !== undefined
      ? trusted.cmp.agree
        ? undefined
        : trusted
      : agreeing.length === 0 && checks.length >= 2 && compareOutputs(checks[0].run, checks[1].run).agree
        ? checks[0]
        : undefined
  if (against !== undefined) {
    const confidence = against.local ? 1 : Math.max(0.5, engine.trust(against.peerId))
    const by = against.local
      ? 'this node’s runtime'
      : `${trusted ? 'provider' : 'two providers incl.'} ${against.peerId.slice(-8)}`
    return {
      verdict: 'mismatch',
      detail: `output differs from ${by}: ${against.cmp.matched} of ${against.cmp.compared} leading ${unit} match`,
      weight: WEIGHTS.challenge.mismatch * confidence
    }
  }
  if (
    run.tokensPerSecond !== undefined &&
    run.completionTokens >= 16 &&
    engine.speedLieWith(target.peerId, run.tokensPerSecond)
  ) {
    return {
      verdict: 'slow',
      detail: `${run.tokensPerSecond.toFixed(1)} tok/s measured; its advert claims more than ${SPEED_LIE_FACTOR}× that`
    }
  }
  const crossChecked = (trusted?.cmp.agree ?? false) || agreeing.length > 0
  return crossChecked
    ? {
        verdict: 'pass',
        detail: `${judged.detail}, output matches ${agreeing.length} reference(s)`,
        crossChecked: true
      }
    : { verdict: 'pass', detail: `${judged.detail}, not cross-checked`, weight: WEIGHTS.uncheckedPass }
}

/**
 * References of the same GGUF: this node's runtime, or a provider already cross-checked (either is
 * trusted alone); otherwise up to two others, who must agree with each other to outvote the target.
 */
export function referencesFor(
  target: ChallengeTarget,
  others: ChallengeTarget[],
  init: Pick<ChallengerInit, 'self' | 'engine' | 'localSha256'>,
  /** Untrusted references that last disagreed with each other on this target: others go first. */
  avoid: ReadonlySet<string> = new Set()
): Reference[] {
  if (target.sha256 === undefined) return []
  if (init.localSha256?.(target.model) === target.sha256) return [{ peerId: init.self, local: true, trusted: true }]
  const engine = init.engine
  const same = others
    .filter(
      (o) =>
        o.peerId !== target.peerId &&
        o.model === target.model &&
        o.sha256 === target.sha256 &&
        engine.excludedReason(o.peerId) === undefined
    )
    // cross-checked ones first, the fastest of them (a slow reference would slow every check)
    .sort(
      (a, b) =>
        Number(engine.crossChecked(b.peerId)) - Number(engine.crossChecked(a.peerId)) ||
        engine.measuredSpeed(b.peerId) - engine.measuredSpeed(a.peerId)
    )
  const best = same[0]
  if (best !== undefined && engine.crossChecked(best.peerId) && engine.trust(best.peerId) >= 0.5)
    return [{ peerId: best.peerId, local: false, trusted: true }]
  // stable: the order above holds within the ones not avoided and within the avoided
  const pair = [...same.filter((o) => !avoid.has(o.peerId)), ...same.filter((o) => avoid.has(o.peerId))]
  return pair.slice(0, 2).map((o) => ({ peerId: o.peerId, local: false, trusted: false }))
}

export interface Reference {
  peerId: string
  local: boolean
  /** Decides alone: this node's runtime, or a provider whose output already matched a reference. */
  trusted: boolean
}

export interface Judged {
  verdict: ChallengeVerdict
  detail: string
  weight?: number
  crossChecked?: boolean
}
