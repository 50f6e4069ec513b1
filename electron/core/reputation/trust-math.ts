/**
 * Trust as a Beta estimate over evidence units: this node's own (direct) first, then what reporters
 * say, each weighted by this node's trust in the reporter (EigenTrust-style: iterated, anchored on
 * pre-trusted peers), with each reporter's influence capped. Pure functions: unit-tested alone.
 */

export interface Mass {
  positive: number
  negative: number
}

export interface Report extends Mass {
  reporter: string
  subject: string
  caught: boolean
}

export interface TrustParams {
  /** Prior pseudo-counts: a newcomer starts at priorPositive / (priorPositive + priorNegative). */
  priorPositive: number
  priorNegative: number
  /** Below this the router skips a provider. */
  threshold: number
  /** Evidence units one reporter may move about one subject. */
  reporterCap: number
  /** Extra negative units a "caught lying" flag carries, beyond the cap: a verified lie outweighs a pleasant past. */
  caughtMass: number
  /** All gossip together about one subject counts for at most this many units. */
  gossipCap: number
  /** Direct evidence units at which gossip counts half (direct experience first). */
  directHalf: number
  /** Weight of a reporter this node knows nothing about (0..1). */
  unknownReporterWeight: number
  iterations: number
}

export const DEFAULT_TRUST_PARAMS: TrustParams = {
  priorPositive: 1,
  priorNegative: 1.5,
  threshold: 0.25,
  reporterCap: 4,
  caughtMass: 1.5,
  gossipCap: 16,
  directHalf: 6,
  unknownReporterWeight: 0.25,
  iterations: 4
}

export interface TrustInput {
  self: string
  /** Owner-configured peers whose reports count fully. */
  preTrusted: ReadonlySet<string>
  direct: ReadonlyMap<string, Mass>
  reports: readonly Report[]
  /** Providers this node itself caught lying (and has not seen pass since): praise of them is ignored. */
  caught?: ReadonlySet<string>
}

export interface GossipView extends Mass {
  reporters: number
  caughtBy: number
  /** Reporters whose report is against the provider (a pre-trusted one counts twice). */
  witnesses: number
}

/** Hearsay excludes a provider only on this many witnesses against it (one the owner trusts counts twice). */
export const WITNESSES_TO_EXCLUDE = 2

export interface TrustResult {
  trust: Map<string, number>
  reporterWeight: Map<string, number>
  gossip: Map<string, GossipView>
}

export function betaTrust(m: Mass, p: TrustParams): number {
  return (p.priorPositive + m.positive) / (p.priorPositive + p.priorNegative + m.positive + m.negative)
}

/** How well a reporter's opinions agree with this node's own on the providers both know (0..1, 0.5 unknown). */
export function agreement(reporter: string, input: TrustInput, p: TrustParams): number {
  let sum = 0
  let n = 0
  for (const r of input.reports) {
    if (r.reporter !== reporter) continue
    const mine = input.direct.get(r.subject)
    if (mine === undefined || mine.positive + mine.negative < 2) continue
    sum += 1 - Math.abs(betaTrust(r, p) - betaTrust(mine, p))
    n++
  }
  return (1 + sum) / (2 + n)
}

/** A reporter's evidence scaled to the cap; a "caught lying" claim adds its own units on top. */
function clip(r: Report, p: TrustParams): Mass {
  const total = r.positive + r.negative
  const scale = total > p.reporterCap ? p.reporterCap / total : 1
  return { positive: r.positive * scale, negative: r.negative * scale + (r.caught ? p.caughtMass : 0) }
}

export function computeTrust(input: TrustInput, p: TrustParams = DEFAULT_TRUST_PARAMS): TrustResult {
  const subjects = new Set<string>([...input.direct.keys(), ...input.reports.map((r) => r.subject)])
  const reporters = new Set(input.reports.map((r) => r.reporter))
  const credibility = new Map([...reporters].map((r) => [r, agreement(r, input, p)]))
  const trust = new Map<string, number>()
  const reporterWeight = new Map<string, number>()
  let gossip = new Map<string, GossipView>()

  const weightOf = (reporter: string): number => {
    if (reporter === input.self || input.preTrusted.has(reporter)) return 1
    // A reporter this node has served with is heard in proportion to its trust; any other only a
    // little (trust from gossip alone does not count here, or colluders could praise each other up).
    const known = input.direct.get(reporter)
    const served = known !== undefined && known.positive + known.negative >= 1
    const base = served
      ? Math.min(1, (trust.get(reporter) ?? betaTrust(known, p)) / 0.8) * 0.5
      : p.unknownReporterWeight
    return Math.min(1, base * 2 * (credibility.get(reporter) ?? 0.5))
  }

  for (let i = 0; i < Math.max(1, p.iterations); i++) {
    for (const r of reporters) reporterWeight.set(r, weightOf(r))
    gossip = new Map()
    for (const r of input.reports) {
      if (r.subject === input.self || r.subject === r.reporter) continue
      const w = reporterWeight.get(r.reporter) ?? 0
      if (w <= 0) continue
      const m = clip(r, p)
      const g = gossip.get(r.subject) ?? { positive: 0, negative: 0, reporters: 0, caughtBy: 0, witnesses: 0 }
      if (m.negative > m.positive) g.witnesses += input.preTrusted.has(r.reporter) ? 2 : 1
      // what this node proved itself is not outvoted by others' praise
      if (!input.caught?.has(r.subject)) g.positive += w * m.positive
      g.negative += w * m.negative
      g.reporters++
      if (r.caught) g.caughtBy++
      gossip.set(r.subject, g)
    }
    const next = new Map<string, number>()
    for (const s of subjects) {
      const d = input.direct.get(s) ?? { positive: 0, negative: 0 }
      const g = gossip.get(s) ?? { positive: 0, negative: 0, reporters: 0, caughtBy: 0, witnesses: 0 }
      const total = g.positive + g.negative
      const capScale = total > p.gossipCap ? p.gossipCap / total : 1
      const directFirst = 1 / (1 + (d.positive + d.negative) / p.directHalf)
      const k = capScale * directFirst
      const t = betaTrust({ positive: d.positive + k * g.positive, negative: d.negative + k * g.negative }, p)
      // one peer's word alone never excludes: it may lower a provider to the threshold, not below,
      // until this node sees for itself (its challenger checks) or a second witness agrees
      const hearsayOnly = g.witnesses < WITNESSES_TO_EXCLUDE && betaTrust(d, p) >= p.threshold
      next.set(s, hearsayOnly ? Math.max(t, p.threshold) : t)
    }
    trust.clear()
    for (const [s, t] of next) trust.set(s, t)
  }
  return { trust, reporterWeight, gossip }
}

export function newcomerTrust(p: TrustParams = DEFAULT_TRUST_PARAMS): number {
  return betaTrust({ positive: 0, negative: 0 }, p)
}
