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

  /** Publishes a summary now (also called by the timer). */
  async publish(): Promise<boolean> {
    const subjects = this.init.sink.summary(MAX_REPORT_SUBJECTS)
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
      this.publish()
        .catch((err) => this.init.logger.debug('reputation summary not published', { err }))
        .finally(() => this.schedule(this.init.intervalMs * (0.9 + 0.2 * Math.random())))
    }, ms)
    this.timer.unref?.()
  }
}
