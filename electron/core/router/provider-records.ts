/**
 * This node's own record of each provider it has routed to. Kept apart from scoring so that gossiped
 * reputation can feed the same numbers later (see `trust`).
 */
export type FailureKind = 'connect' | 'closed' | 'timeout' | 'runtime' | 'protocol'

export interface ProviderRecord {
  successes: number
  failures: number
  timeouts: number
  /** Smoothed time to first token, ms (undefined until a first success). */
  ttftMs?: number
  /** Smoothed decode speed seen by us, tokens/s. */
  tokensPerSecond?: number
  consecutiveFailures: number
  /** ms since epoch until which the provider is skipped. */
  ejectedUntil: number
  lastFailure?: { at: number; kind: FailureKind | 'refused'; code: string }
}

export interface RecordsOptions {
  /** First ejection after a failure; doubles with each consecutive failure. */
  ejectBaseMs?: number
  ejectMaxMs?: number
  now?: () => number
}

const ALPHA = 0.3

export class ProviderRecords {
  private readonly records = new Map<string, ProviderRecord>()
  private readonly base: number
  private readonly max: number
  private readonly now: () => number
  /** Trust 0..1 from elsewhere (gossiped reputation); 1 when nothing is known. */
  trust: (peerId: string) => number = () => 1

  constructor(options: RecordsOptions = {}) {
    this.base = options.ejectBaseMs ?? 2_000
    this.max = options.ejectMaxMs ?? 60_000
    this.now = options.now ?? Date.now
  }

  get(peerId: string): ProviderRecord {
    let record = this.records.get(peerId)
    if (record === undefined) {
      record = { successes: 0, failures: 0, timeouts: 0, consecutiveFailures: 0, ejectedUntil: 0 }
      this.records.set(peerId, record)
    }
    return record
  }

  snapshot(): Record<string, ProviderRecord> {
    return Object.fromEntries([...this.records].map(([k, v]) => [k, { ...v }]))
  }

  /** A finished job. */
  success(peerId: string, sample: { ttftMs?: number; tokensPerSecond?: number } = {}): void {
    const r = this.get(peerId)
    r.successes++
    r.consecutiveFailures = 0
    r.ejectedUntil = 0
    this.observe(peerId, sample)
  }

  /** Speed samples without a verdict (e.g. the first token of a job still running). */
  observe(peerId: string, sample: { ttftMs?: number; tokensPerSecond?: number }): void {
    const r = this.get(peerId)
    if (sample.ttftMs !== undefined) r.ttftMs = r.ttftMs === undefined ? sample.ttftMs : r.ttftMs + ALPHA * (sample.ttftMs - r.ttftMs)
    if (sample.tokensPerSecond !== undefined && Number.isFinite(sample.tokensPerSecond)) {
      r.tokensPerSecond = r.tokensPerSecond === undefined ? sample.tokensPerSecond : r.tokensPerSecond + ALPHA * (sample.tokensPerSecond - r.tokensPerSecond)
    }
  }

  /** A real failure: counts against the provider and ejects it with exponential backoff. */
  failure(peerId: string, kind: FailureKind, code: string): number {
    const r = this.get(peerId)
    r.failures++
    if (kind === 'timeout') r.timeouts++
    r.consecutiveFailures++
    const ms = Math.min(this.max, this.base * 2 ** (r.consecutiveFailures - 1))
    r.ejectedUntil = this.now() + ms
    r.lastFailure = { at: this.now(), kind, code }
    return ms
  }

  /** Paused or busy: not the provider's fault, but skip it for a moment. */
  refused(peerId: string, code: string, forMs: number): void {
    const r = this.get(peerId)
    r.ejectedUntil = Math.max(r.ejectedUntil, this.now() + forMs)
    r.lastFailure = { at: this.now(), kind: 'refused', code }
  }

  ejectedFor(peerId: string): number {
    const until = this.records.get(peerId)?.ejectedUntil ?? 0
    return Math.max(0, until - this.now())
  }

  /** Laplace-smoothed success ratio, timeouts counted twice; times trust. */
  reliability(peerId: string): number {
    const r = this.records.get(peerId)
    const trust = Math.min(1, Math.max(0, this.trust(peerId)))
    if (r === undefined) return 0.5 * trust + 0.25
    const ratio = (r.successes + 1) / (r.successes + r.failures + r.timeouts + 2)
    return ratio * (0.5 * trust + 0.5)
  }
}
