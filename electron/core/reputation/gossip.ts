import type { Message, TopicValidatorFn } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import {
  GOSSIP_DROP_REASONS,
  MAX_REPORT_BYTES,
  MAX_REPORT_SUBJECTS,
  REPUTATION_TOPIC,
  ReputationReportSchema,
  type GossipDropReason,
  type ReportedSubject,
  type ReputationReport
} from '../../../shared/reputation'
import type { Logger } from '../util/logger'
import { DEFAULT_TRUST_PARAMS } from './trust-math'

/** The part of gossipsub this service uses. */
export interface ReputationPubsub {
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  publish(topic: string, data: Uint8Array): Promise<unknown>
  topicValidators: Map<string, TopicValidatorFn>
}

export interface GossipSink {
  /** Highest sequence number already accepted from each reporter (survives restarts). */
  reporterSeqs(): Map<string, number>
  acceptReport(reporter: string, seq: number, at: number, subjects: ReportedSubject[]): void
  summary(max: number): ReportedSubject[]
}

export interface ReputationGossipInit {
  self: string
  sink: GossipSink
  logger: Logger
  /** How often this node publishes its summary. */
  intervalMs: number
  /** Summaries older than this are stale; newer than now + maxSkewMs are from the future. */
  maxAgeMs?: number
  maxSkewMs?: number
  /** One summary per reporter per this many ms; faster ones are dropped. */
  minIntervalMs?: number
  now?: () => number
}

export interface GossipCounters {
  published: number
  accepted: number
  dropped: Record<GossipDropReason, number>
}

/**
 * An unchanged summary goes out again after one period, then after 2, 4, 8 and at most this many:
 * every node publishing every period made each node's idle gossip grow with the size of the mesh,
 * while a summary that says nothing new only serves peers that joined since (and missed copies).
 */
export const MAX_QUIET_PERIODS = 16

/**
 * What a receiver takes from a summary, coarsely: who, caught or not, the ratio, and the mass up to
 * twice what one reporter may move (receivers clip each reporter to that). Evidence decays slowly
 * between periods; only a change this fingerprint sees is news.
 */
export function summaryFingerprint(subjects: ReportedSubject[]): string {
  const cap = 2 * DEFAULT_TRUST_PARAMS.reporterCap
  return subjects
    .map((s) => {
      const mass = s.positive + s.negative
      const ratio = mass > 0 ? Math.round((50 * s.positive) / mass) : -1
      return `${s.peer}:${s.caught === true ? 1 : 0}:${ratio}:${Math.round(Math.min(mass, cap))}`
    })
    .sort()
    .join(',')
}

/** Publishes this node's signed summaries and checks everyone else's on `meshwork/reputation/1`. */
export class ReputationGossip {
  readonly counters: GossipCounters = {
    published: 0,
    accepted: 0,
    dropped: Object.fromEntries(GOSSIP_DROP_REASONS.map((r) => [r, 0])) as Record<GossipDropReason, number>
  }
  private readonly seqs: Map<string, number>
  private readonly lastAcceptedAt = new Map<string, number>()
  /** Summaries dropped per sender (bounded), shown in that peer's evidence. */
  private readonly droppedFrom = new Map<string, number>()
  private readonly now: () => number
  private timer?: ReturnType<typeof setTimeout>
  /** When the timer fires next, and when this node last published. */
  private nextAt = 0
  private lastPublishedAt = -Infinity
  private seq = 0
  private running = false
  /** The last published summary's fingerprint, and how many periods an unchanged one waits now. */
  private lastFingerprint = ''
  private quietPeriods = 1
  /** A catch asked for the next summary: it goes out even if the fingerprint did not change. */
  private forceNext = false

  constructor(
    private readonly pubsub: ReputationPubsub,
    private readonly init: ReputationGossipInit
  ) {
    this.seqs = init.sink.reporterSeqs()
    this.now = init.now ?? Date.now
  }

  async start(): Promise<void> {
    this.running = true
    this.pubsub.topicValidators.set(REPUTATION_TOPIC, this.validate)
    this.pubsub.subscribe(REPUTATION_TOPIC)
    this.schedule(this.init.intervalMs / 2)
  }

  async stop(): Promise<void> {
    this.running = false
    clearTimeout(this.timer)
    this.pubsub.unsubscribe(REPUTATION_TOPIC)
    this.pubsub.topicValidators.delete(REPUTATION_TOPIC)
  }

  /** How many of this sender's summaries were dropped. */
  droppedFromPeer(peerId: string): number {
    return this.droppedFrom.get(peerId) ?? 0
  }

  /** Publishes a summary now, changed or not. */
  async publish(): Promise<boolean> {
    return this.publishSubjects(this.init.sink.summary(MAX_REPORT_SUBJECTS))
  }

  /** The timer: publishes a changed summary, an unchanged one only once its quiet periods are over. */
  private async tick(): Promise<void> {
    const subjects = this.init.sink.summary(MAX_REPORT_SUBJECTS)
    const fingerprint = summaryFingerprint(subjects)
    const changed = fingerprint !== this.lastFingerprint
    const quietForMs = this.now() - this.lastPublishedAt
    // 0.85: the timer's own jitter must not cost an unchanged summary a whole extra period
    if (!changed && !this.forceNext && quietForMs < 0.85 * this.quietPeriods * this.init.intervalMs) return
    this.forceNext = false
    if (!(await this.publishSubjects(subjects))) return
    this.lastFingerprint = fingerprint
    this.quietPeriods = changed ? 1 : Math.min(MAX_QUIET_PERIODS, 2 * this.quietPeriods)
  }

  private async publishSubjects(subjects: ReportedSubject[]): Promise<boolean> {
    if (subjects.length === 0) return false
    // a clock-based sequence stays increasing across restarts without being stored
    this.seq = Math.max(this.seq + 1, this.now())
    const report: ReputationReport = { v: 1, reporter: this.init.self, seq: this.seq, at: this.now(), subjects }
    const data = new TextEncoder().encode(JSON.stringify(report))
    if (data.byteLength > MAX_REPORT_BYTES) return false
    await this.pubsub.publish(REPUTATION_TOPIC, data)
    this.lastPublishedAt = this.now()
    this.counters.published++
    return true
  }

  /**
   * News of a lie should not wait for the next period: publish as soon as receivers accept it again
   * (they drop a reporter's summary that comes within half a period of its last; a tenth more for jitter).
   */
  publishSoon(): void {
    if (!this.running) return
    this.forceNext = true
    const at = Math.max(this.now(), this.lastPublishedAt + 0.55 * this.init.intervalMs)
    if (at < this.nextAt) this.schedule(at - this.now())
  }

  /** The topic validator: runs before a message is delivered or forwarded. */
  readonly validate = (_from: unknown, message: Message): TopicValidatorResult => {
    const verdict = this.check(message)
    if (verdict === 'accept') return TopicValidatorResult.Accept
    this.counters.dropped[verdict]++
    if (message.type === 'signed') {
      const from = message.from.toString()
      if (this.droppedFrom.size < 4_096 || this.droppedFrom.has(from))
        this.droppedFrom.set(from, (this.droppedFrom.get(from) ?? 0) + 1)
    }
    this.init.logger.debug('reputation gossip dropped', {
      reason: verdict,
      from: message.type === 'signed' ? message.from.toString() : undefined
    })
    // what could be an honest duplicate or clock drift is ignored; what is invalid penalises the sender
    return verdict === 'replay' || verdict === 'stale' || verdict === 'future' || verdict === 'rate'
      ? TopicValidatorResult.Ignore
      : TopicValidatorResult.Reject
  }

  private check(message: Message): GossipDropReason | 'accept' {
    if (message.type !== 'signed') return 'unsigned'
    if (message.data.byteLength > MAX_REPORT_BYTES) return 'oversized'
    let report: ReputationReport
    try {
      report = ReputationReportSchema.parse(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(message.data)))
    } catch {
      return 'malformed'
    }
    const from = message.from.toString()
    if (report.reporter !== from) return 'forged'
    if (from === this.init.self) return 'replay'
    const now = this.now()
    if (report.at < now - (this.init.maxAgeMs ?? Math.max(60_000, 3 * this.init.intervalMs))) return 'stale'
    if (report.at > now + (this.init.maxSkewMs ?? 30_000)) return 'future'
    if (report.seq <= (this.seqs.get(from) ?? -1)) return 'replay'
    if (now - (this.lastAcceptedAt.get(from) ?? -Infinity) < (this.init.minIntervalMs ?? this.init.intervalMs / 2))
      return 'rate'
    const subjects = report.subjects.filter((s) => s.peer !== from)
    // a reporter's word about itself is no evidence: such entries are dropped (and counted)
    if (subjects.length === 0 && report.subjects.length > 0) return 'self'
    if (subjects.length < report.subjects.length) this.counters.dropped.self++
    this.seqs.set(from, report.seq)
    this.lastAcceptedAt.set(from, now)
    this.init.sink.acceptReport(from, report.seq, report.at, subjects)
    this.counters.accepted++
    return 'accept'
  }

  private schedule(ms: number): void {
    if (!this.running) return
    clearTimeout(this.timer)
    this.nextAt = this.now() + ms
    this.timer = setTimeout(() => {
      this.tick()
        .catch((err) => this.init.logger.debug('reputation summary not published', { err }))
        .finally(() => this.schedule(this.init.intervalMs * (0.9 + 0.2 * Math.random())))
    }, ms)
    this.timer.unref?.()
  }
}
