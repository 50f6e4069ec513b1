import type { InferFailureKind } from '../../../shared/infer-error'

/**
 * This node's own short-term record of each provider it has routed to: counts, smoothed speed,
 * and the ejection (circuit breaker) that follows failures. Long-term trust lives in a TrustSource.
 */
export type FailureKind = Exclude<InferFailureKind, 'refused' | 'client'>

export interface ProviderRecord {
  successes: number
  failures: number
  timeouts: number
  /** Smoothed time to first token, ms (undefined until a first token). */
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
  /** Providers remembered; the least recently touched is forgotten beyond this. */
  maxRecords?: number
  now?: () => number
}

const ALPHA = 0.3
const EMPTY: Readonly<ProviderRecord> = Object.freeze({
  successes: 0,
  failures: 0,
  timeouts: 0,
  consecutiveFailures: 0,
  ejectedUntil: 0
})

export class ProviderRecords {
  private readonly records = new Map<string, ProviderRecord>()
  private readonly base: number
  private readonly max: number
  private readonly maxRecords: number
  private readonly now: () => number

  constructor(options: RecordsOptions = {}) {
    this.base = options.ejectBaseMs ?? 2_000
    this.max = options.ejectMaxMs ?? 60_000
    this.maxRecords = options.maxRecords ?? 4_096
    this.now = options.now ?? Date.now
  }

  /** The record, or an empty one; reading never creates a record. */
  get(peerId: string): Readonly<ProviderRecord> {
    return this.records.get(peerId) ?? EMPTY
  }

  peek(peerId: string): Readonly<ProviderRecord> | undefined {
    return this.records.get(peerId)
  }

  get size(): number {
    return this.records.size
  }

  snapshot(): Record<string, ProviderRecord> {
    return Object.fromEntries([...this.records].map(([k, v]) => [k, { ...v }]))
  }

  /** A finished job. */
  success(peerId: string, sample: { ttftMs?: number; tokensPerSecond?: number } = {}): void {
    const r = this.touch(peerId)
    r.successes++
    r.consecutiveFailures = 0
    r.ejectedUntil = 0
    this.observe(peerId, sample)
  }

  /** Speed samples without a verdict. */
  observe(peerId: string, sample: { ttftMs?: number; tokensPerSecond?: number }): void {
    const r = this.touch(peerId)
    if (sample.ttftMs !== undefined)
      r.ttftMs = r.ttftMs === undefined ? sample.ttftMs : r.ttftMs + ALPHA * (sample.ttftMs - r.ttftMs)
    if (sample.tokensPerSecond !== undefined && Number.isFinite(sample.tokensPerSecond)) {
      r.tokensPerSecond =
        r.tokensPerSecond === undefined
          ? sample.tokensPerSecond
          : r.tokensPerSecond + ALPHA * (sample.tokensPerSecond - r.tokensPerSecond)
    }
  }

  /** A real failure: counts against the provider and ejects it with exponential backoff. */
  failure(peerId: string, kind: FailureKind, code: string): number {
    const r = this.touch(peerId)
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
    const r = this.touch(peerId)
    r.ejectedUntil = Math.max(r.ejectedUntil, this.now() + forMs)
    r.lastFailure = { at: this.now(), kind: 'refused', code }
  }

  ejectedFor(peerId: string): number {
    const until = this.records.get(peerId)?.ejectedUntil ?? 0
    return Math.max(0, until - this.now())
  }

  /** The record to update, moved to the young end; the oldest is forgotten past the cap. */
  private touch(peerId: string): ProviderRecord {
    const record = this.records.get(peerId) ?? { ...EMPTY }
    this.records.delete(peerId)
    this.records.set(peerId, record)
    if (this.records.size > this.maxRecords) this.records.delete(this.records.keys().next().value as string)
    return record
  }
}
