/**
 * Per-peer back-off that doubles from `baseMs` up to `maxMs` each time it is started again, with a
 * bounded number of peers: used for probes of an excluded provider and for verifications of one
 * that gossip says was caught.
 */
export class RecheckBackoff {
  private readonly next = new Map<string, { at: number; backoffMs: number }>()

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly maxPeers = 4_096
  ) {}

  /** When the peer may be checked again (undefined: no back-off running). */
  dueAt(peerId: string): number | undefined {
    return this.next.get(peerId)?.at
  }

  /** Starts (or doubles) the peer's back-off from now. */
  start(peerId: string): void {
    const previous = this.next.get(peerId)
    const backoffMs = previous === undefined ? this.baseMs : Math.min(this.maxMs, previous.backoffMs * 2)
    if (previous === undefined && this.next.size >= this.maxPeers) this.next.clear()
    this.next.set(peerId, { at: Date.now() + backoffMs, backoffMs })
  }

  clear(peerId: string): void {
    this.next.delete(peerId)
  }
}

/**
 * Checks whose references answered and decided nothing (they disagreed with each other, or none
 * answered), per provider: the references used last, so the next check asks others, and how many,
 * so such checks neither use up a provider's rechecks nor go on without end.
 */
export class InconclusiveChecks {
  private readonly checks = new Map<string, { count: number; refs: ReadonlySet<string> }>()

  constructor(private readonly maxPeers = 4_096) {}

  count(peerId: string): number {
    return this.checks.get(peerId)?.count ?? 0
  }

  /** The references of the provider's last inconclusive check (empty when its last check decided). */
  lastRefs(peerId: string): ReadonlySet<string> {
    return this.checks.get(peerId)?.refs ?? new Set()
  }

  note(peerId: string, refs: string[]): void {
    const previous = this.checks.get(peerId)
    if (previous === undefined && this.checks.size >= this.maxPeers) this.checks.clear()
    this.checks.set(peerId, { count: (previous?.count ?? 0) + 1, refs: new Set(refs) })
  }

  /** A check that decided: the count stays (it bounds the total), the references are no longer avoided. */
  decided(peerId: string): void {
    const previous = this.checks.get(peerId)
    if (previous !== undefined) this.checks.set(peerId, { count: previous.count, refs: new Set() })
  }
}
