import type { ChallengeVerdict } from '../../../shared/reputation'
import type { Logger } from '../util/logger'
import { type ChallengeTransport, challengeFrame, challengeOutcome, runChallenge } from './challenge'
import type { AttemptOutcome } from '../events'
import { judgeChallenge, referencesFor } from './cross-check'
import { InconclusiveChecks, RecheckBackoff } from './rechecks'
import type { TrustEngine } from './trust-engine'

/** A provider and one model it serves (with the GGUF it claims). */
export interface ChallengeTarget {
  peerId: string
  model: string
  sha256?: string
}

export interface ChallengerInit {
  /** Each challenge job on another peer, as an attempt outcome (for receipts: challenges are paid jobs). */
  onSettled?: (outcome: AttemptOutcome) => void
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

/** First checks of a new provider are spread over this many ticks (30 s at the default 5 s tick). */
const FIRST_SIGHT_SPREAD = 6
/** A provider's first check is repeated until this many decided (its references agreed or one was trusted). */
const DECIDED_CHECKS = 3
/** Checks that decided nothing, per provider, after which its first check is no longer repeated. */
const MAX_INCONCLUSIVE = 6

/** Decides when to challenge whom (first sight, a share of traffic, probes of the excluded) and judges it. */
export class Challenger {
  private readonly due = new Set<string>()
  private readonly probes: RecheckBackoff
  private readonly lastAt = new Map<string, number>()
  /** When a provider that gossip says was caught may be verified again (backs off while it keeps passing). */
  private readonly verifications: RecheckBackoff
  private readonly inconclusive = new InconclusiveChecks()
  /** When each provider not yet challenged gets its first check. */
  private readonly firstSight = new Map<string, number>()
  private readonly log: Logger
  private timer?: ReturnType<typeof setInterval>
  private busy = false
  private inFlight?: Promise<unknown>
  private readonly controller = new AbortController()

  constructor(private readonly init: ChallengerInit) {
    this.log = init.logger.child('challenge')
    this.probes = new RecheckBackoff(init.probeBaseMs ?? 30_000, init.probeMaxMs ?? 600_000)
    this.verifications = new RecheckBackoff(init.probeBaseMs ?? 30_000, init.probeMaxMs ?? 600_000)
  }

  start(): void {
    this.timer = setInterval(
      () =>
        void this.tick().catch((err) => {
          if (!this.controller.signal.aborted) this.log.warn('challenge failed', { err })
        }),
      this.init.tickMs ?? 5_000
    )
    this.timer.unref?.()
  }

  /** Aborts a challenge in flight and waits for it, so nothing is recorded after the store closes. */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.controller.abort(new Error('stopping'))
    await this.inFlight?.catch(() => undefined)
  }

  /** After a routed job: now and then, the same provider gets a challenge. */
  noteTraffic(peerId: string): void {
    if (peerId === this.init.self) return
    if ((this.init.random ?? Math.random)() < (this.init.share ?? 0.05)) this.due.add(peerId)
  }

  /** When the next probe of an excluded provider is due (for the owner's view). */
  nextProbeAt(peerId: string): number | undefined {
    return this.probes.dueAt(peerId)
  }

  /** One challenge at a time: first sight, then a speed in doubt, then sampled traffic, then due probes. */
  async tick(): Promise<ChallengeVerdict | undefined> {
    if (this.busy) return undefined
    const targets = this.init.targets().filter((t) => t.peerId !== this.init.self)
    const now = Date.now()
    // no provider is challenged twice within a few ticks, so one cannot starve the others
    const rested = targets.filter((t) => now - (this.lastAt.get(t.peerId) ?? 0) >= 4 * (this.init.tickMs ?? 5_000))
    const next =
      targets.find((t) => !this.init.engine.challenged(t.peerId) && this.firstSightDue(t.peerId, now)) ??
      rested.find((t) => this.init.engine.speedSuspect(t.peerId)) ??
      // a peer says it caught the provider lying: this node checks for itself rather than take its word
      rested.find((t) => this.gossipSaysCaught(t.peerId, now)) ??
      // a first check that had no reference to compare with, or references that did not agree, is
      // repeated (a few times) once there are references (others than last time)
      rested.find(
        (t) =>
          !this.init.engine.crossChecked(t.peerId) &&
          this.init.engine.challengesSent(t.peerId) - this.inconclusive.count(t.peerId) < DECIDED_CHECKS &&
          this.inconclusive.count(t.peerId) < MAX_INCONCLUSIVE &&
          referencesFor(t, targets, this.init).length > 0 &&
          this.init.engine.excludedReason(t.peerId) === undefined
      ) ??
      rested.find((t) => this.due.has(t.peerId) && this.init.engine.excludedReason(t.peerId) === undefined) ??
      rested.find(
        (t) => this.init.engine.excludedReason(t.peerId) !== undefined && (this.probes.dueAt(t.peerId) ?? 0) <= now
      )
    if (next === undefined) return undefined
    this.due.delete(next.peerId)
    const verifying = this.gossipSaysCaught(next.peerId, now)
    const verdict = await this.challenge(next, targets)
    // the back-off is for a provider that passed a check; one whose references decided nothing is
    // verified again at the next rested tick (with other references), up to the bound on such checks
    if (verifying && (!this.lastUndecided(next.peerId) || this.inconclusive.count(next.peerId) >= MAX_INCONCLUSIVE))
      this.verifications.start(next.peerId)
    return verdict
  }

  /**
   * A first check waits a random share of FIRST_SIGHT_SPREAD ticks after first sight: when a provider
   * joins, every node in the mesh sees it within seconds, and all their checks at once would be a
   * burst of jobs on one provider that grows with the mesh.
   */
  private firstSightDue(peerId: string, now: number): boolean {
    let due = this.firstSight.get(peerId)
    if (due === undefined) {
      if (this.firstSight.size >= 4_096) this.firstSight.clear()
      due = now + (this.init.random ?? Math.random)() * FIRST_SIGHT_SPREAD * (this.init.tickMs ?? 5_000)
      this.firstSight.set(peerId, due)
    }
    return due <= now
  }

  private gossipSaysCaught(peerId: string, now: number): boolean {
    const { engine } = this.init
    return (
      engine.gossipCaughtBy(peerId) > 0 &&
      engine.excludedReason(peerId) === undefined &&
      // a provider that passed a check made on others' word is checked again only after a back-off
      // (doubling): colluders who keep smearing an honest provider cannot make every node challenge
      // it on every summary they publish
      (this.verifications.dueAt(peerId) ?? 0) <= now
    )
  }

  challenge(target: ChallengeTarget, others: ChallengeTarget[] = this.init.targets()): Promise<ChallengeVerdict> {
    const run = this.run(target, others)
    this.inFlight = run
    return run
  }

  private async run(target: ChallengeTarget, others: ChallengeTarget[]): Promise<ChallengeVerdict> {
    this.busy = true
    this.lastAt.set(target.peerId, Date.now())
    try {
      const maxTokens = this.init.maxTokens ?? 48
      const frame = challengeFrame(target.model, maxTokens)
      const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.init.timeoutMs ?? 30_000)])
      const references = referencesFor(target, others, this.init, this.inconclusive.lastRefs(target.peerId))
      // the target alone first, so its speed is measured without this node's other runs beside it
      const run = await runChallenge(this.init.transport, target.peerId, frame, { signal })
      const refRuns = await Promise.all(
        references.map((t) => runChallenge(this.init.transport, t.peerId, frame, { signal }))
      )
      for (const [peerId, settled] of [
        [target.peerId, run] as const,
        ...references.map((r, i) => [r.peerId, refRuns[i]] as const)
      ]) {
        if (peerId !== this.init.self) this.init.onSettled?.(challengeOutcome(frame, peerId, settled))
      }
      // cut off by stop(): no evidence either way
      this.controller.signal.throwIfAborted()
      const refs = references
        .map((r, i) => ({ ...r, run: refRuns[i] }))
        .filter((r) => r.run.error === undefined && r.run.completionTokens > 0)
      const judged = judgeChallenge(this.init.engine, target, run, maxTokens, refs)
      // only a complete answer's speed is a sample (a broken stream's last batch says nothing)
      const complete = judged.verdict === 'pass' || judged.verdict === 'slow' || judged.verdict === 'mismatch'
      const sample = complete && run.completionTokens >= 16 ? { tokensPerSecond: run.tokensPerSecond } : {}
      this.init.engine.noteChallenge(target.peerId, judged.verdict, judged.detail, {
        ...sample,
        ttftMs: run.ttftMs,
        weight: judged.weight,
        crossChecked: judged.crossChecked
      })
      // references that answered and decided nothing: next time others, and no recheck used up
      const undecided = judged.verdict === 'pass' && judged.crossChecked !== true && references.length > 0
      if (undecided)
        this.inconclusive.note(
          target.peerId,
          references.map((r) => r.peerId)
        )
      else this.inconclusive.decided(target.peerId)
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

  /** Whether the provider's last check had references that answered nothing conclusive. */
  private lastUndecided(peerId: string): boolean {
    return this.inconclusive.lastRefs(peerId).size > 0
  }

  private scheduleProbe(peerId: string): void {
    if (this.init.engine.excludedReason(peerId) === undefined) this.probes.clear(peerId)
    else this.probes.start(peerId)
  }
}
