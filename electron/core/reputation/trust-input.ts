import type { PeerEvidence } from './evidence'
import type { StoredReport } from './observation-store'
import type { Mass, TrustInput } from './trust-math'

/** The trust math's input at `now`: direct evidence and reports decayed, and who this node caught lying lately. */
export function trustInputAt(
  peers: ReadonlyMap<string, PeerEvidence>,
  reportsBy: ReadonlyMap<string, StoredReport[]>,
  now: number,
  halfLifeMs: number
): Pick<TrustInput, 'direct' | 'reports' | 'caught'> {
  const direct = new Map<string, Mass>()
  for (const [peer, e] of peers)
    direct.set(peer, {
      positive: e.positive.valueAt(now, halfLifeMs),
      negative: e.negative.valueAt(now, halfLifeMs)
    })
  const reports = [...reportsBy.values()].flat().map((r) => {
    const decay = 2 ** (-Math.max(0, now - r.at) / halfLifeMs)
    return {
      reporter: r.reporter,
      subject: r.peer,
      positive: r.positive * decay,
      negative: r.negative * decay,
      caught: r.caught === true
    }
  })
  const caught = new Set(
    [...peers].filter(([, e]) => e.caughtAt !== undefined && now - e.caughtAt < halfLifeMs).map(([peer]) => peer)
  )
  return { direct, reports, caught }
}
