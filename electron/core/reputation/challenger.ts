import type { ChallengeVerdict } from '../../../shared/reputation'
import type { Logger } from '../util/logger'
import {
  type ChallengeRun,
  type ChallengeTransport,
  challengeFrame,
  compareOutputs,
  judgeRun,
  runChallenge
} from './challenge'
import { SPEED_LIE_FACTOR, WEIGHTS } from './evidence'
import type { TrustEngine } from './trust-engine'

/** A provider and one model it serves (with the GGUF it claims). */
export interface ChallengeTarget {
  peerId: string
  model: string
  sha256?: string
}

export interface ChallengerInit {
  self: string
  engine: TrustEngine
  transport: ChallengeTransport
  /** Live remote providers and what they serve. */
  targets: () => ChallengeTarget[]
  /** The sha256 this node's own runtime serves for a model, if it serves it (a trusted reference). */
  localSha256?: (model: string) => string | undefined
  logger: Logger
  /** Share of routed jobs followed by a challenge of the same provider. */
  share?: number
  tickMs?: number
  maxTokens?: number
  timeoutMs?: number
  /** An excluded provider is probed again after this, doubling up to probeMaxMs. */
  probeBaseMs?: number
  probeMaxMs?: number
  random?: () => number
}

/** Decides when to challenge whom (first sight, a share of traffic, probes of the excluded) and judges it. */
export class Challenger {
  private readonly due = new Set<string>()
  private readonly probes = new Map<string, { at: number; backoffMs: number }>()
  private readonly lastAt = new Map<string, number>()
  private readonly log: Logger
  private timer?: ReturnType<typeof setInterval>
  private busy = false
  private readonly controller = new AbortController()

  constructor(private readonly init: ChallengerInit) {
    this.log = init.logger.child('challenge')
  }

  start(): void {
    this.timer = setInterval(
      () => void this.tick().catch((err) => this.log.warn('challenge failed', { err })),
      this.init.tickMs ?? 5_000
    )
    this.timer.unref?.()
  }

  stop(): void {
    clearInterval(this.timer)
    this.controller.abort(new Error('stopping'))
  }

  /** After a routed job: now and then, the same provider gets a challenge. */
  noteTraffic(peerId: string): void {
    if (peerId === this.init.self) return
    if ((this.init.random ?? Math.random)() < (this.init.share ?? 0.05)) this.due.add(peerId)
  }

  /** When the next probe of an excluded provider is due (for the owner's view). */
  nextProbeAt(peerId: string): number | undefined {
    return this.probes.get(peerId)?.at
  }

  /** One challenge at a time: first sight, then a speed in doubt, then sampled traffic, then due probes. */
  async tick(): Promise<ChallengeVerdict | undefined> {
    if (this.busy) return undefined
    const targets = this.init.targets().filter((t) => t.peerId !== this.init.self)
    const now = Date.now()
    // no provider is challenged twice within a few ticks, so one cannot starve the others
    const rested = targets.filter((t) => now - (this.lastAt.get(t.peerId) ?? 0) >= 4 * (this.init.tickMs ?? 5_000))
    const next =
      targets.find((t) => !this.init.engine.challenged(t.peerId)) ??
      rested.find((t) => this.init.engine.speedSuspect(t.peerId)) ??
      // a first check that had no reference to compare with is repeated (a few times) once there is one
      rested.find(
        (t) =>
          !this.init.engine.crossChecked(t.peerId) &&
          this.init.engine.challengesSent(t.peerId) < 3 &&
          this.references(t, targets).length > 0 &&
          this.init.engine.excludedReason(t.peerId) === undefined
      ) ??
      rested.find((t) => this.due.has(t.peerId) && this.init.engine.excludedReason(t.peerId) === undefined) ??
      rested.find(
        (t) => this.init.engine.excludedReason(t.peerId) !== undefined && (this.probes.get(t.peerId)?.at ?? 0) <= now
      )
    if (next === undefined) return undefined
    this.due.delete(next.peerId)
    return this.challenge(next, targets)
  }

  async challenge(target: ChallengeTarget, others: ChallengeTarget[] = this.init.targets()): Promise<ChallengeVerdict> {
    this.busy = true
    this.lastAt.set(target.peerId, Date.now())
    try {
      const maxTokens = this.init.maxTokens ?? 48
      const frame = challengeFrame(target.model, maxTokens)
      const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.init.timeoutMs ?? 30_000)])
      const references = this.references(target, others)
      // the target alone first, so its speed is measured without this node's other runs beside it
      const run = await runChallenge(this.init.transport, target.peerId, frame, { signal })
      const refRuns = await Promise.all(
        references.map((t) => runChallenge(this.init.transport, t.peerId, frame, { signal }))
      )
      const refs = references
        .map((r, i) => ({ ...r, run: refRuns[i] }))
        .filter((r) => r.run.error === undefined && r.run.completionTokens > 0)
      const judged = this.judge(target, run, maxTokens, refs)
      // only a complete answer's speed is a sample (a broken stream's last batch says nothing)
      const complete = judged.verdict === 'pass' || judged.verdict === 'slow' || judged.verdict === 'mismatch'
      const sample = complete && run.completionTokens >= 16 ? { tokensPerSecond: run.tokensPerSecond } : {}
      this.init.engine.noteChallenge(target.peerId, judged.verdict, judged.detail, {
        ...sample,
        ttftMs: run.ttftMs,
        weight: judged.weight,
        crossChecked: judged.crossChecked
      })
      this.scheduleProbe(target.peerId)
      this.log.info('challenge judged', {
        provider: target.peerId,
        verdict: judged.verdict,
        detail: judged.detail,
        tps: run.tokensPerSecond?.toFixed(1),
        references: references.map((r) => r.peerId)
      })
      return judged.verdict
    } finally {
      this.busy = false
    }
  }

  private judge(
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
      const confidence = against.local ? 1 : Math.max(0.5, this.init.engine.trust(against.peerId))
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
      this.init.engine.speedLieWith(target.peerId, run.tokensPerSecond)
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
  private references(target: ChallengeTarget, others: ChallengeTarget[]): Reference[] {
    if (target.sha256 === undefined) return []
    if (this.init.localSha256?.(target.model) === target.sha256)
      return [{ peerId: this.init.self, local: true, trusted: true }]
    const engine = this.init.engine
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
    return same.slice(0, 2).map((o) => ({ peerId: o.peerId, local: false, trusted: false }))
  }

  private scheduleProbe(peerId: string): void {
    if (this.init.engine.excludedReason(peerId) === undefined) {
      this.probes.delete(peerId)
      return
    }
    const base = this.init.probeBaseMs ?? 30_000
    const previous = this.probes.get(peerId)
    const backoffMs = previous === undefined ? base : Math.min(this.init.probeMaxMs ?? 600_000, previous.backoffMs * 2)
    this.probes.set(peerId, { at: Date.now() + backoffMs, backoffMs })
  }
}

interface Reference {
  peerId: string
  local: boolean
  /** Decides alone: this node's runtime, or a provider whose output already matched a reference. */
  trusted: boolean
}

interface Judged {
  verdict: ChallengeVerdict
  detail: string
  weight?: number
  crossChecked?: boolean
}
