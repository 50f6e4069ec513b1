import type { ProviderRecords } from './provider-records'

/**
 * Where the router's trust in a provider comes from. The router scores on `trust` and never uses a
 * provider with an `excludedReason`; the dashboard shows exactly these values.
 */
export interface TrustSource {
  /** This node's own trust in a provider, 0..1 (0.5 when nothing is known). */
  trust(peerId: string): number
  /** Why the router will not use this provider now; undefined when it may. */
  excludedReason(peerId: string): string | undefined
  /** The evidence behind the trust value, for the dashboard. */
  evidence?(peerId: string): Record<string, unknown>
}

/**
 * Trust from this node's own routing record alone: the Laplace-smoothed share of attempts that
 * succeeded (timeouts weigh double). It never excludes; the records' short ejections do that.
 */
export class RecordTrust implements TrustSource {
  constructor(private readonly records: ProviderRecords) {}

  trust(peerId: string): number {
    const r = this.records.peek(peerId)
    if (r === undefined) return 0.5
    return (r.successes + 1) / (r.successes + r.failures + r.timeouts + 2)
  }

  excludedReason(): string | undefined {
    return undefined
  }

  evidence(peerId: string): Record<string, unknown> {
    const r = this.records.peek(peerId)
    return { direct: r === undefined ? { successes: 0, failures: 0 } : { ...r } }
  }
}

/** The router's trust as the dashboard shows it: its TrustSource, with exclusion as the router applies it. */
export function routerTrust(router: {
  trust: TrustSource
  excludedReason(peerId: string): string | undefined
}): TrustSource {
  return {
    trust: (peerId) => router.trust.trust(peerId),
    excludedReason: (peerId) => router.excludedReason(peerId),
    evidence: (peerId) => router.trust.evidence?.(peerId) ?? {}
  }
}
