import type { ChallengeVerdict } from '../../../shared/reputation'
import type { Observation } from './observation-store'

/** Evidence units of each outcome (positive: for the provider). */
export const WEIGHTS = {
  ok: 1,
  /** A dial that failed may be the network's fault as much as the provider's. */
  connectFailure: -0.5,
  failure: -1,
  /** A pass not cross-checked with a reference counts half. */
  uncheckedPass: 1,
  challenge: { pass: 2, slow: -20, mismatch: -10, truncated: -6, refused: -0.5, failed: -2 } satisfies Record<
    ChallengeVerdict,
    number
  >
} as const

/**
 * Verdicts that prove a lie. A challenge that failed outright (no answer, our own deadline) is
 * evidence against the provider, but a busy or unreachable honest box fails that way too.
 */
export const LIE_VERDICTS: ReadonlySet<ChallengeVerdict> = new Set(['slow', 'mismatch', 'truncated'])

/** Speed samples kept per provider, and how many make a verdict. */
const SPEED_WINDOW = 8
export const SPEED_MIN_SAMPLES = 3
/** Measured below advert / this over every recent sample: the advert is a lie. */
export const SPEED_LIE_FACTOR = 3
/** The factor when no other provider has been measured to compare with. */
export const SPEED_LIE_FACTOR_ALONE = 10

/** A sum of weights that halves every `halfLifeMs` (exponential time decay composes, so one number suffices). */
export class DecayedSum {
  private value = 0
  private at = 0

  add(x: number, at: number, halfLifeMs: number): void {
    this.value = this.valueAt(at, halfLifeMs) + x
    this.at = Math.max(this.at, at)
  }

  reset(): void {
    this.value = 0
  }

  valueAt(now: number, halfLifeMs: number): number {
    if (this.value === 0) return 0
    return this.value * 2 ** (-Math.max(0, now - this.at) / halfLifeMs)
  }
}

/** What this node itself experienced of one provider, aggregated from its observations. */
export class PeerEvidence {
  readonly positive = new DecayedSum()
  readonly negative = new DecayedSum()
  successes = 0
  readonly failures: Record<string, number> = {}
  ttftMs?: number
  tokensPerSecond?: number
  /** Recent decode speeds by our clock, and when each was taken. */
  speedSamples: number[] = []
  speedSampleAt: number[] = []
  /** Speed samples since the last 'slow' verdict (a new verdict needs SPEED_MIN_SAMPLES fresh ones). */
  freshSpeedSamples = 0
  challengesSent = 0
  challengesPassed = 0
  /** Passed challenges whose output matched a reference: such a provider may serve as one. */
  crossCheckedPasses = 0
  readonly byVerdict: Partial<Record<ChallengeVerdict, number>> = {}
  lastChallenge?: { at: number; verdict: ChallengeVerdict; detail?: string }
  lastAt?: number
  /** When this node last caught the provider lying (a LIE_VERDICTS challenge). */
  caughtAt?: number

  apply(o: Observation, halfLifeMs: number): void {
    if (o.weight > 0) this.positive.add(o.weight, o.at, halfLifeMs)
    if (o.weight < 0) this.negative.add(-o.weight, o.at, halfLifeMs)
    this.lastAt = Math.max(this.lastAt ?? 0, o.at)
    if (o.ttftMs !== undefined)
      this.ttftMs = this.ttftMs === undefined ? o.ttftMs : this.ttftMs + 0.3 * (o.ttftMs - this.ttftMs)
    if (o.tokensPerSecond !== undefined) {
      this.tokensPerSecond =
        this.tokensPerSecond === undefined
          ? o.tokensPerSecond
          : this.tokensPerSecond + 0.3 * (o.tokensPerSecond - this.tokensPerSecond)
      this.speedSamples = [...this.speedSamples, o.tokensPerSecond].slice(-SPEED_WINDOW)
      this.speedSampleAt = [...this.speedSampleAt, o.at].slice(-SPEED_WINDOW)
      this.freshSpeedSamples++
    }
    if (o.kind === 'ok') this.successes++
    if (o.kind === 'failed' || o.kind === 'refused') {
      const key = o.kind === 'refused' ? 'refused' : (o.failure ?? 'failed')
      this.failures[key] = (this.failures[key] ?? 0) + 1
    }
    if (o.kind === 'challenge' && o.verdict !== undefined) {
      this.challengesSent++
      if (o.verdict === 'pass') this.challengesPassed++
      if (o.verdict === 'pass' && o.crossChecked === true) this.crossCheckedPasses++
      this.byVerdict[o.verdict] = (this.byVerdict[o.verdict] ?? 0) + 1
      this.lastChallenge = { at: o.at, verdict: o.verdict, ...(o.detail ? { detail: o.detail } : {}) }
      if (o.verdict === 'slow') this.freshSpeedSamples = 0
      if (LIE_VERDICTS.has(o.verdict)) this.caughtAt = o.at
      // only a pass checked against a reference clears a lie: an unchecked one proves nothing
      if (o.verdict === 'pass' && o.crossChecked === true) this.caughtAt = undefined
      // a proven lie forfeits the credit earned before it: answering is not answering honestly
      if (o.verdict === 'mismatch' || o.verdict === 'slow') this.positive.reset()
    }
  }
}

/**
 * The speed rule: even the best of the last SPEED_MIN_SAMPLES decode speeds below a third of the
 * advert. A busy honest box is slow sometimes, not every time, so its best sample clears the bar.
 * `othersSpeed` (what this node measures of the other providers now, lower quartile) takes out what
 * slows everyone alike, this node's own load or network: a liar is also a third below its peers.
 */
export function speedLie(
  samples: readonly number[],
  advertTokensPerSecond: number | undefined,
  othersSpeed?: number
): boolean {
  if (advertTokensPerSecond === undefined || advertTokensPerSecond <= 0) return false
  if (samples.length < SPEED_MIN_SAMPLES) return false
  const best = bestRecent(samples)
  if (best >= advertTokensPerSecond / SPEED_LIE_FACTOR) return false
  // with no other provider to compare with, this node cannot tell its own load from a lie: only a gross one counts
  return othersSpeed === undefined
    ? best < advertTokensPerSecond / SPEED_LIE_FACTOR_ALONE
    : best < othersSpeed / SPEED_LIE_FACTOR
}

/** The best of the last SPEED_MIN_SAMPLES samples. */
export function bestRecent(samples: readonly number[]): number {
  return Math.max(...samples.slice(-SPEED_MIN_SAMPLES))
}

/** Evidence units for an attempt's outcome; undefined when it says nothing about the provider. */
export function attemptWeight(kind: string, failure?: string): number | undefined {
  if (kind === 'ok') return WEIGHTS.ok
  if (kind === 'failed') return failure === 'connect' ? WEIGHTS.connectFailure : WEIGHTS.failure
  if (kind === 'refused') return 0
  return undefined
}
