/**
 * What one consumer may hold of a provider, and what all of them together may make it buffer.
 * Fresh peer ids cost nothing, so the process-wide byte budget is what bounds memory in the end.
 */
export interface ProviderLimits {
  /** Infer streams one peer may have open here at once (jobs, queued jobs and warm streams). */
  maxStreamsPerPeer: number
  /** Jobs (running + queued) one peer may hold: it can fill the slots but not the whole queue. */
  maxJobsPerPeer: number
  /** Bytes of not-yet-complete request frames buffered across all streams. */
  maxBufferedRequestBytes: number
  /** How long a frame may wait for a consumer that does not read before its job is dropped. */
  drainTimeoutMs: number
}

export function defaultProviderLimits(capacity: number, maxQueued: number): ProviderLimits {
  return {
    maxStreamsPerPeer: capacity + maxQueued + 8,
    maxJobsPerPeer: capacity + Math.ceil(maxQueued / 2),
    maxBufferedRequestBytes: 64 * 1024 * 1024,
    drainTimeoutMs: 10_000
  }
}

/** Counts per peer, forgotten at zero so the map never outgrows the peers currently here. */
export class PeerCounter {
  private readonly counts = new Map<string, number>()

  /** Takes one unit for `peer` unless it already holds `max`; returns the release (or undefined). */
  take(peer: string, max: number): (() => void) | undefined {
    const n = this.counts.get(peer) ?? 0
    if (n >= max) return undefined
    this.counts.set(peer, n + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const left = (this.counts.get(peer) ?? 1) - 1
      if (left > 0) this.counts.set(peer, left)
      else this.counts.delete(peer)
    }
  }

  get size(): number {
    return this.counts.size
  }
}

/** A shared allowance of bytes. */
export class ByteBudget {
  private used = 0
  constructor(readonly limit: number) {}

  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false
    this.used += bytes
    return true
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes)
  }

  get inUse(): number {
    return this.used
  }
}
