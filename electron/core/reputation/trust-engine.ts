import type { ChallengeVerdict, ReportedSubject, TrustEvidence } from '../../../shared/reputation'
import { PeerEvidence, SPEED_LIE_FACTOR, SPEED_MIN_SAMPLES, WEIGHTS, attemptWeight } from './evidence'
import type { Observation, ObservationStore, StoredReport } from './observation-store'
import { SpeedRule } from './speed-rule'
import { trustInputAt } from './trust-input'
import { DEFAULT_TRUST_PARAMS, computeTrust, newcomerTrust, type TrustParams, type TrustResult } from './trust-math'
import { directSummary, evidenceView } from './trust-views'

/** What the router reports after every attempt (the fields of its AttemptOutcome that matter here). */
export interface AttemptFacts {
  provider: string
  local: boolean
  kind: 'ok' | 'failed' | 'refused' | 'cancelled' | 'client'
  failure?: string
  code?: string
  tokens: number
  ttftMs?: number
  tokensPerSecond?: number
}

export interface TrustEngineOptions {
  self: string
  store: ObservationStore
  /** Peers the owner trusts: their reports count fully. */
  trustedPeers?: readonly string[]
  params?: Partial<TrustParams>
  /** Evidence loses half its weight in this time. */
  halfLifeMs?: number
  /** The speed rule's samples must span at least this long (a burst of jobs in one busy moment is one moment). */
  speedSpanMs?: number
  /** This node has just caught a provider lying (a challenge with a LIE_VERDICTS verdict). */
  onCaught?: (peerId: string) => void
  /** The decode speed a provider's advert claims (max over its models), for the speed rule. */
  advertSpeed?: (peerId: string) => number | undefined
  now?: () => number
}

const RECOMPUTE_AFTER_MS = 250
const COMPACT_EVERY = 500
/** Decode samples from shorter answers say more about latency than about speed. */
const MIN_SPEED_TOKENS = 16

/**
 * This node's trust in every provider: durable observations, gossiped summaries and the trust math
 * in one place. It is the router's TrustSource (trust, excludedReason, evidence).
 */
export class TrustEngine {
  readonly params: TrustParams
  private readonly peers = new Map<string, PeerEvidence>()
  private readonly reports = new Map<string, StoredReport[]>()
  private readonly preTrusted: Set<string>
  private readonly halfLifeMs: number
  private readonly now: () => number
  private readonly speed: SpeedRule
  private result?: TrustResult
  private resultAt = 0
  private writes = 0

  constructor(private readonly options: TrustEngineOptions) {
    this.params = { ...DEFAULT_TRUST_PARAMS, ...options.params }
    this.preTrusted = new Set(options.trustedPeers ?? [])
    this.halfLifeMs = options.halfLifeMs ?? 24 * 3600_000
    this.now = options.now ?? Date.now
    this.speed = new SpeedRule(this.peers, options, this.now)
    for (const o of options.store.observations()) this.evidenceOf(o.peer).apply(o, this.halfLifeMs)
    for (const r of options.store.reports()) this.reports.set(r.reporter, [...(this.reports.get(r.reporter) ?? []), r])
  }

  trust(peerId: string): number {
    if (peerId === this.options.self) return 1
    return this.computed().trust.get(peerId) ?? newcomerTrust(this.params)
  }

  excludedReason(peerId: string): string | undefined {
    const t = this.trust(peerId)
    if (t >= this.params.threshold) return undefined
    return `trust ${t.toFixed(2)} is below ${this.params.threshold}: ${this.evidence(peerId).why}`
  }

  evidence(peerId: string): TrustEvidence {
    const evidence = this.peers.get(peerId)
    const now = this.now()
    const gossip = this.computed().gossip.get(peerId)
    const advert = this.options.advertSpeed?.(peerId)
    const trust = this.trust(peerId)
    const preTrusted = this.preTrusted.has(peerId)
    const reporterWeight =
      this.computed().reporterWeight.get(peerId) ?? (preTrusted ? 1 : this.params.unknownReporterWeight)
    const facts = { evidence, now, halfLifeMs: this.halfLifeMs, trust, threshold: this.params.threshold, gossip }
    return evidenceView({ ...facts, advert, reporterWeight, preTrusted })
  }

  /** True once this node has sent the provider at least one challenge. */
  challenged(peerId: string): boolean {
    return (this.peers.get(peerId)?.challengesSent ?? 0) > 0
  }

  /** Its last decode speed was below a third of its advert: a few more samples will tell. */
  speedSuspect(peerId: string): boolean {
    const last = this.peers.get(peerId)?.speedSamples.at(-1)
    const advert = this.options.advertSpeed?.(peerId)
    if (last === undefined || advert === undefined || advert <= 0 || this.excludedReason(peerId) !== undefined)
      return false
    const others = this.speed.othersSpeed(peerId)
    return last < advert / SPEED_LIE_FACTOR && (others === undefined || last < others / SPEED_LIE_FACTOR)
  }

  /** How many reporters (heard at all) say they caught the provider lying: this node should look for itself. */
  gossipCaughtBy(peerId: string): number {
    return this.computed().gossip.get(peerId)?.caughtBy ?? 0
  }

  /** Smoothed decode speed by this node's clock (0 when unknown). */
  measuredSpeed(peerId: string): number {
    return this.peers.get(peerId)?.tokensPerSecond ?? 0
  }

  challengesSent(peerId: string): number {
    return this.peers.get(peerId)?.challengesSent ?? 0
  }

  /** True once the provider's output matched a reference in a challenge. */
  crossChecked(peerId: string): boolean {
    return (this.peers.get(peerId)?.crossCheckedPasses ?? 0) > 0
  }

  /** Direct evidence from one routed attempt. Local attempts and the client's own errors say nothing. */
  noteAttempt(facts: AttemptFacts): void {
    if (facts.local || facts.provider === this.options.self) return
    const weight = attemptWeight(facts.kind, facts.failure)
    if (weight === undefined) return
    const speed = facts.kind === 'ok' && facts.tokens >= MIN_SPEED_TOKENS ? facts.tokensPerSecond : undefined
    this.observe({
      peer: facts.provider,
      at: this.now(),
      kind: facts.kind as Observation['kind'],
      weight,
      ...(facts.failure !== undefined || facts.code !== undefined ? { failure: facts.failure ?? facts.code } : {}),
      ...(facts.ttftMs !== undefined ? { ttftMs: facts.ttftMs } : {}),
      ...(speed !== undefined && Number.isFinite(speed) ? { tokensPerSecond: speed } : {})
    })
  }

  noteChallenge(
    peerId: string,
    verdict: ChallengeVerdict,
    detail?: string,
    sample: { tokensPerSecond?: number; ttftMs?: number; weight?: number; crossChecked?: boolean } = {}
  ): void {
    this.observe({
      peer: peerId,
      at: this.now(),
      kind: 'challenge',
      verdict,
      weight: sample.weight ?? WEIGHTS.challenge[verdict],
      ...(sample.crossChecked === true ? { crossChecked: true } : {}),
      ...(detail ? { detail } : {}),
      ...(sample.tokensPerSecond !== undefined ? { tokensPerSecond: sample.tokensPerSecond } : {}),
      ...(sample.ttftMs !== undefined ? { ttftMs: sample.ttftMs } : {})
    })
  }

  /** A verified summary from a reporter (the gossip layer checked signature, window and sequence). */
  acceptReport(reporter: string, seq: number, at: number, subjects: ReportedSubject[]): void {
    this.options.store.putReport(reporter, seq, at, subjects)
    this.reports.set(
      reporter,
      subjects.map((s) => ({ ...s, reporter, at }))
    )
    this.result = undefined
  }

  reporterSeqs(): Map<string, number> {
    return this.options.store.reporterSeqs()
  }

  /** What this node tells the mesh: its own direct evidence only (never re-gossiped gossip). */
  summary(max: number): ReportedSubject[] {
    return directSummary(this.peers, this.now(), this.halfLifeMs, max)
  }

  /** Providers this node has direct evidence of, for diagnostics. */
  knownPeers(): string[] {
    return [...this.peers.keys()]
  }

  private observe(o: Observation): void {
    this.options.store.record(o)
    const e = this.evidenceOf(o.peer)
    e.apply(o, this.halfLifeMs)
    this.result = undefined
    if (o.tokensPerSecond !== undefined && o.kind !== 'challenge' && e.freshSpeedSamples >= SPEED_MIN_SAMPLES)
      this.checkSpeed(o.peer)
    if (++this.writes % COMPACT_EVERY === 0) this.options.store.compact(this.now())
    if (o.kind === 'challenge' && e.caughtAt === o.at) this.options.onCaught?.(o.peer)
  }

  /** The speed rule over the provider's recent samples; records a 'slow' verdict when it holds. */
  checkSpeed(peerId: string): boolean {
    const detail = this.speed.verdict(peerId)
    if (detail === undefined) return false
    this.noteChallenge(peerId, 'slow', detail)
    return true
  }

  /** Whether the speed rule holds with one more sample (a challenge's own, before it is recorded). */
  speedLieWith(peerId: string, sample: number): boolean {
    return this.speed.lieWith(peerId, sample)
  }

  private evidenceOf(peer: string): PeerEvidence {
    let e = this.peers.get(peer)
    if (e === undefined) {
      e = new PeerEvidence()
      this.peers.set(peer, e)
    }
    return e
  }

  private computed(): TrustResult {
    const now = this.now()
    if (this.result !== undefined && now - this.resultAt < RECOMPUTE_AFTER_MS) return this.result
    const input = trustInputAt(this.peers, this.reports, now, this.halfLifeMs)
    this.result = computeTrust({ self: this.options.self, preTrusted: this.preTrusted, ...input }, this.params)
    this.resultAt = now
    return this.result
  }
}
